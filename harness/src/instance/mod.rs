//! Wasm modules instantiated on any engine — the interpreter (running the translated IR)
//! or Kiln's x86_64 / AArch64 code under emulation — with one runtime for all of them.
//!
//! - [`store`]: [`Store`], many linked instances on one engine (imports, `register`,
//!   shared memories, tables and globals, the runtime builtins, the `spectest` module).
//! - [`Instance`]: the common case of one self-contained module in its own store.

pub mod store;

pub use store::{InstanceError, InstanceId, Store, DEFAULT_FUEL};

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
        let mut store = Store::new(engine, settings)?;
        let id = store.instantiate(wasm)?;
        Ok(Instance { store, id })
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

    /// The current value of the exported global `name`.
    pub fn global(&self, name: &str) -> Option<DataValue> {
        self.store.global(self.id, name)
    }
}
