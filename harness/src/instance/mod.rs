//! Wasm modules instantiated on any engine — the interpreter (running the translated IR)
//! or Kiln's x86_64 / AArch64 code under emulation — with one runtime for all of them.
//!
//! - [`store`]: [`Store`], many linked instances on one engine (imports, `register`,
//!   shared memories, tables and globals, the runtime builtins, the `spectest` module).
//! - [`Instance`]: the common case of one self-contained module in its own store.
//! - [`oracle`]: [`WasmiInstance`], the same operations on wasmi (an independent
//!   interpreter), with the same value conventions and the same [`Limits`].

pub mod oracle;
pub mod store;

pub use oracle::WasmiInstance;
pub use store::{InstanceError, InstanceId, Store, DEFAULT_FUEL, DEFAULT_LIMITS};

/// Growth caps of a runtime: `memory.grow` and `table.grow` beyond them fail (return -1)
/// and a module declaring more at instantiation is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in 64 KiB pages.
    pub memory_pages: u32,
    /// Largest table, in elements.
    pub table_elements: u32,
}

use crate::engine::{EngineKind, EngineSettings};
use crate::outcome::Outcome;
use crate::value::DataValue;

/// One module instantiated in a store of its own.
pub struct Instance {
    store: Store,
    id: InstanceId,
}

impl Instance {
    /// Compile `wasm` for `engine` and instantiate it (imports resolve against `spectest`).
    pub fn new(
        wasm: &[u8],
        engine: EngineKind,
        settings: &EngineSettings,
    ) -> Result<Instance, InstanceError> {
        Instance::with_limits(wasm, engine, settings, DEFAULT_LIMITS)
    }

    /// Like [`Instance::new`] with growth caps `limits` (at most [`DEFAULT_LIMITS`]).
    pub fn with_limits(
        wasm: &[u8],
        engine: EngineKind,
        settings: &EngineSettings,
        limits: Limits,
    ) -> Result<Instance, InstanceError> {
        let mut store = Store::new(engine, settings)?;
        store.set_limits(limits);
        let id = store.instantiate(wasm)?;
        Ok(Instance { store, id })
    }

    /// The module facts (exports, types, globals ...).
    pub fn info(&self) -> &kiln::wasm::info::ModuleInfo {
        self.store
            .info(self.id)
            .expect("an Instance's id names an instance of its own store")
    }

    /// Set the instruction budget of each invocation.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.store.set_fuel(fuel);
    }

    /// Call the exported function `name` with `args`.
    pub fn invoke(&mut self, name: &str, args: &[DataValue]) -> Outcome {
        self.store.invoke(self.id, name, args)
    }

    /// The linear memory's current bytes (empty without a memory).
    pub fn memory(&self) -> &[u8] {
        self.store.memory(self.id)
    }

    /// Set the exported mutable global `name` to `value`; returns whether it did.
    pub fn set_global(&mut self, name: &str, value: &DataValue) -> bool {
        self.store.set_global(self.id, name, value)
    }

    /// The current value of the exported global `name`.
    pub fn global(&self, name: &str) -> Option<DataValue> {
        self.store.global(self.id, name)
    }
}
