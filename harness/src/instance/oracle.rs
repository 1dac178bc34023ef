//! [`WasmiInstance`]: one module instantiated on [wasmi](https://docs.rs/wasmi), an
//! independent Wasm interpreter Kiln's authors did not write — the oracle of the Wasm
//! differential loop. It speaks the harness's value conventions so its outcomes compare
//! directly with a Kiln [`super::Instance`]:
//!
//! - numbers are [`DataValue`]s (`f32`/`f64` as raw bits);
//! - references are `I64` in Kiln's encoding: `0` is null, externref `N` is `N + 1`;
//!   a non-null funcref is reported as `1` (function identity is not comparable across
//!   engines, so results only say *whether* a funcref is null) and only null funcrefs can
//!   be passed in;
//! - traps map one-to-one onto [`TrapCode`]s; running out of wasmi fuel is
//!   [`Outcome::OutOfFuel`]; anything else wasmi reports is [`Outcome::Error`].
//!
//! Invariants: memory growth and table growth are capped at the same limits as Kiln's
//! [`super::Store`] ([`Limits`]), so a `memory.grow` both runtimes may refuse is refused by
//! both; fuel is refilled before every invocation, so each call has the same budget
//! whatever ran before; nothing here panics on any module.

use super::{InstanceError, Limits};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::TrapCode;
use wasmi::TrapCode as WasmiTrap;
use wasmi::{Engine, ExternRef, Func, Linker, Module, Ref, Store, StoreLimits, Val, ValType};

/// Most nested calls wasmi allows.
pub const MAX_RECURSION_DEPTH: usize = 20_000;
/// Most values on wasmi's stack.
pub const MAX_STACK_HEIGHT: usize = 16_000_000;

/// One module on wasmi. See the module docs.
pub struct WasmiInstance {
    store: Store<StoreLimits>,
    instance: wasmi::Instance,
    fuel: u64,
    consumed: u64,
}

/// The store data type: the limits wasmi's resource limiter reads.
fn limited_store(engine: &Engine, limits: Limits) -> Store<StoreLimits> {
    let data = wasmi::StoreLimitsBuilder::new()
        .memory_size(limits.memory_pages as usize * 65536)
        .table_elements(limits.table_elements as usize)
        .build();
    let mut store = Store::new(engine, data);
    store.limiter(|l| l);
    store
}

impl WasmiInstance {
    /// Validate, compile and instantiate `wasm` (no imports are provided) and run its start
    /// function, with `fuel` wasmi fuel units for the start function and for every call.
    pub fn new(wasm: &[u8], limits: Limits, fuel: u64) -> Result<WasmiInstance, InstanceError> {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        // Deeper than wasmi's defaults (1000 frames, 1M values), so that recursion the
        // emulated engines complete does not exhaust the oracle first.
        config.set_max_recursion_depth(MAX_RECURSION_DEPTH);
        config.set_max_stack_height(MAX_STACK_HEIGHT);
        let engine = Engine::new(&config);
        let module =
            Module::new(&engine, wasm).map_err(|e| InstanceError::Engine(format!("wasmi: {e}")))?;
        let mut store = limited_store(&engine, limits);
        store
            .set_fuel(fuel)
            .map_err(|e| InstanceError::Engine(format!("wasmi: {e}")))?;
        let linker = Linker::<StoreLimits>::new(&engine);
        let instance = match linker.instantiate_and_start(&mut store, &module) {
            Ok(i) => i,
            Err(e) => {
                return Err(match error_outcome(&e) {
                    Outcome::Error(m) => InstanceError::Unlinkable(m),
                    trap => InstanceError::Trap(trap),
                })
            }
        };
        let consumed = fuel - store.get_fuel().unwrap_or(fuel);
        Ok(WasmiInstance {
            store,
            instance,
            fuel,
            consumed,
        })
    }

    /// Wasmi fuel consumed so far (start function and every call): roughly the number of
    /// Wasm instructions executed.
    pub fn fuel_consumed(&self) -> u64 {
        self.consumed
    }

    /// The exported function `name`, if there is one.
    fn func(&self, name: &str) -> Option<Func> {
        self.instance.get_func(&self.store, name)
    }

    /// Call the exported function `name` with `args` (see the module docs for encodings).
    pub fn invoke(&mut self, name: &str, args: &[DataValue]) -> Outcome {
        let Some(func) = self.func(name) else {
            return Outcome::Error(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        if ty.params().len() != args.len() {
            return Outcome::Error(format!(
                "`{name}` takes {} argument(s), {} given",
                ty.params().len(),
                args.len()
            ));
        }
        let mut inputs = Vec::with_capacity(args.len());
        for (&t, a) in ty.params().iter().zip(args) {
            match self.wasmi_value(t, a) {
                Some(v) => inputs.push(v),
                None => return Outcome::Error(format!("argument {a} does not fit {t:?}")),
            }
        }
        let mut outputs: Vec<Val> = ty.results().iter().map(|&t| Val::default(t)).collect();
        if self.store.set_fuel(self.fuel).is_err() {
            return Outcome::Error("wasmi fuel is not enabled".to_string());
        }
        let r = func.call(&mut self.store, &inputs, &mut outputs);
        self.consumed += self.fuel - self.store.get_fuel().unwrap_or(self.fuel);
        match r {
            Ok(()) => Outcome::Returned(outputs.iter().map(|v| self.harness_value(v)).collect()),
            Err(e) => error_outcome(&e),
        }
    }

    /// The bytes of the exported memory `name` (empty when there is none).
    pub fn memory(&self, name: &str) -> &[u8] {
        match self.instance.get_memory(&self.store, name) {
            Some(m) => m.data(&self.store),
            None => &[],
        }
    }

    /// The current value of the exported global `name`.
    pub fn global(&self, name: &str) -> Option<DataValue> {
        let g = self.instance.get_global(&self.store, name)?;
        Some(self.harness_value(&g.get(&self.store)))
    }

    /// Set the exported mutable global `name` to `value`; returns whether it did.
    pub fn set_global(&mut self, name: &str, value: &DataValue) -> bool {
        let Some(g) = self.instance.get_global(&self.store, name) else {
            return false;
        };
        let ty = g.ty(&self.store).content();
        match self.wasmi_value(ty, value) {
            Some(v) => g.set(&mut self.store, v).is_ok(),
            None => false,
        }
    }

    fn wasmi_value(&mut self, t: ValType, a: &DataValue) -> Option<Val> {
        Some(match (t, a) {
            (ValType::I32, DataValue::I32(x)) => Val::I32(*x),
            (ValType::I64, DataValue::I64(x)) => Val::I64(*x),
            (ValType::F32, DataValue::F32(b)) => Val::F32(wasmi::F32::from_bits(*b)),
            (ValType::F64, DataValue::F64(b)) => Val::F64(wasmi::F64::from_bits(*b)),
            (ValType::V128, DataValue::V128(_, bytes)) => {
                Val::V128(wasmi::V128::from(u128::from_le_bytes(*bytes)))
            }
            (ValType::FuncRef, DataValue::I64(0)) => Val::FuncRef(Ref::Null),
            (ValType::ExternRef, DataValue::I64(0)) => Val::ExternRef(Ref::Null),
            (ValType::ExternRef, DataValue::I64(n)) => {
                let id = u32::try_from(*n - 1).ok()?;
                Val::ExternRef(Ref::Val(ExternRef::new(&mut self.store, id)))
            }
            _ => return None,
        })
    }

    fn harness_value(&self, v: &Val) -> DataValue {
        match v {
            Val::I32(x) => DataValue::I32(*x),
            Val::I64(x) => DataValue::I64(*x),
            Val::F32(f) => DataValue::F32(f.to_bits()),
            Val::F64(f) => DataValue::F64(f.to_bits()),
            Val::V128(v) => DataValue::V128(kiln::ir::Type::I8X16, v.as_u128().to_le_bytes()),
            Val::FuncRef(f) => DataValue::I64(i64::from(!f.is_null())),
            Val::ExternRef(Ref::Null) => DataValue::I64(0),
            Val::ExternRef(Ref::Val(r)) => {
                let id = r.data(&self.store).downcast_ref::<u32>().copied();
                // An externref the harness did not make cannot exist: no imports.
                DataValue::I64(id.map_or(-1, |n| i64::from(n) + 1))
            }
        }
    }
}

/// A wasmi error as an outcome: its trap code mapped onto Kiln's, out of fuel, or a
/// harness error with wasmi's message.
fn error_outcome(e: &wasmi::Error) -> Outcome {
    use wasmi::errors::{ErrorKind, InstantiationError, TableError};
    let code = match e.kind() {
        // wasmi 1.1 reports an out-of-bounds `table.copy`, and an active element segment
        // that does not fit its table at instantiation, as errors without a trap code; Wasm
        // says both trap (out of bounds table access).
        ErrorKind::Table(TableError::CopyOutOfBounds)
        | ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. }) => {
            Some(WasmiTrap::TableOutOfBounds)
        }
        _ => e.as_trap_code(),
    };
    let Some(code) = code else {
        return Outcome::Error(format!("wasmi: {e}"));
    };
    Outcome::Trapped(match code {
        WasmiTrap::UnreachableCodeReached => TrapCode::Unreachable,
        WasmiTrap::MemoryOutOfBounds => TrapCode::HeapOutOfBounds,
        WasmiTrap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        WasmiTrap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        WasmiTrap::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
        WasmiTrap::IntegerOverflow => TrapCode::IntegerOverflow,
        WasmiTrap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        WasmiTrap::StackOverflow => TrapCode::StackOverflow,
        WasmiTrap::BadSignature => TrapCode::BadSignature,
        WasmiTrap::OutOfFuel => return Outcome::OutOfFuel,
        other => return Outcome::Error(format!("wasmi trap {other:?}: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        memory_pages: 16,
        table_elements: 1000,
    };

    fn instance(wat: &str) -> WasmiInstance {
        WasmiInstance::new(&wat::parse_str(wat).unwrap(), LIMITS, 100_000).unwrap()
    }

    #[test]
    fn values_traps_state_and_fuel_use_the_harness_conventions() {
        let mut i = instance(
            r#"(module
              (memory (export "m") 1)
              (global (export "g") (mut i64) (i64.const 5))
              (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
              (func (export "store") (param i32) i32.const 8 local.get 0 i32.store
                 global.get 0 i64.const 1 i64.add global.set 0)
              (func (export "refs") (param externref) (result externref funcref f32)
                 local.get 0 ref.func 0 f32.const -0.0)
              (func (export "spin") (loop br 0))
              (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
        );
        assert_eq!(
            i.invoke("div", &[DataValue::I32(7), DataValue::I32(-2)]),
            Outcome::Returned(vec![DataValue::I32(-3)])
        );
        assert_eq!(
            i.invoke("div", &[DataValue::I32(i32::MIN), DataValue::I32(-1)]),
            Outcome::Trapped(TrapCode::IntegerOverflow)
        );
        assert_eq!(
            i.invoke("store", &[DataValue::I32(0x0102_0304)]),
            Outcome::Returned(vec![])
        );
        assert_eq!(&i.memory("m")[8..12], &[4, 3, 2, 1]);
        assert_eq!(i.global("g"), Some(DataValue::I64(6)));
        assert_eq!(
            i.invoke("refs", &[DataValue::I64(42)]),
            Outcome::Returned(vec![
                DataValue::I64(42),
                DataValue::I64(1),
                DataValue::F32(0x8000_0000)
            ])
        );
        assert_eq!(i.invoke("spin", &[]), Outcome::OutOfFuel);
        // Growth stops at the shared cap, without trapping.
        assert_eq!(
            i.invoke("grow", &[DataValue::I32(15)]),
            Outcome::Returned(vec![DataValue::I32(1)])
        );
        assert_eq!(
            i.invoke("grow", &[DataValue::I32(1)]),
            Outcome::Returned(vec![DataValue::I32(-1)])
        );
        assert!(i.fuel_consumed() > 100_000);
        assert!(matches!(i.invoke("nope", &[]), Outcome::Error(_)));
    }

    #[test]
    fn instantiation_traps_and_refusals_are_told_apart() {
        let trap = WasmiInstance::new(
            &wat::parse_str("(module (func unreachable) (start 0))").unwrap(),
            LIMITS,
            1000,
        );
        assert!(matches!(
            trap,
            Err(InstanceError::Trap(Outcome::Trapped(TrapCode::Unreachable)))
        ));
        let import = WasmiInstance::new(
            &wat::parse_str(r#"(module (import "a" "b" (func)))"#).unwrap(),
            LIMITS,
            1000,
        );
        assert!(matches!(import, Err(InstanceError::Unlinkable(_))));
        assert!(matches!(
            WasmiInstance::new(b"\0asm", LIMITS, 1000),
            Err(InstanceError::Engine(_))
        ));
    }

    /// wasmi 2.0.0 fuses this `i32.eqz` with the unrelated `i32.ge_s` before it and traps
    /// (found by `kiln diff --generator wasm`, kept as `corpora/wasm/wasmi-2.0.0-eqz-fusion`);
    /// the oracle's version must not.
    #[test]
    fn the_oracle_does_not_have_the_wasmi_2_eqz_fusion_bug() {
        let mut i = instance(
            r#"(module (func (export "f") (param i32 i32) (result i32)
                 local.get 0 local.get 1 i32.ge_s
                 i32.const 1 local.get 1 local.get 1 i32.eqz select i32.div_u))"#,
        );
        assert_eq!(
            i.invoke("f", &[DataValue::I32(0), DataValue::I32(0)]),
            Outcome::Returned(vec![DataValue::I32(1)])
        );
    }
}
