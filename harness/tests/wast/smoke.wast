;; A small script exercising every kind of directive `kiln wast` handles: a named module,
;; a bare invoke, assert_return with exact values, NaN patterns and `either`, a global
;; read, reference values, assert_trap on an invocation and on a module, assert_invalid,
;; assert_malformed (text and binary), assert_unlinkable and register.
(module $M
  (global $g (export "g") (mut i32) (i32.const 7))
  (memory 1)
  (table 2 funcref)
  (func $id (export "id") (param i32) (result i32) (local.get 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "set_g") (param i32) (global.set $g (local.get 0)))
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "f32_nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "f64_arith") (param f64) (result f64) (f64.add (local.get 0) (f64.const 1)))
  (func (export "neg_zero") (result f32) (f32.const -0.0))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "call") (param i32) (result i32)
    (call_indirect (param i32) (result i32) (i32.const 5) (local.get 0)))
  (func (export "externref") (param externref) (result externref) (local.get 0))
  (func (export "null_func") (result funcref) (ref.null func))
  (func (export "some_func") (result funcref) (ref.func $id))
  (func (export "pair") (result i32 i64) (i32.const 1) (i64.const -2))
  (elem (i32.const 1) $id))

(invoke "set_g" (i32.const 9))
(assert_return (get "g") (i32.const 9))
(assert_return (get $M "g") (i32.const 9))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke $M "id" (i32.const -1)) (i32.const 0xffffffff))
(assert_return (invoke "f32_nan") (f32.const nan:arithmetic))
(assert_return (invoke "f64_arith" (f64.const nan)) (f64.const nan:canonical))
(assert_return (invoke "f64_arith" (f64.const 1.5)) (f64.const 2.5))
(assert_return (invoke "neg_zero") (f32.const -0.0))
(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (either (i32.const 3) (i32.const 4)))
(assert_return (invoke "externref" (ref.extern 3)) (ref.extern 3))
(assert_return (invoke "externref" (ref.extern 0)) (ref.extern))
(assert_return (invoke "externref" (ref.null extern)) (ref.null extern))
(assert_return (invoke "null_func") (ref.null func))
(assert_return (invoke "some_func") (ref.func))
(assert_return (invoke "pair") (i32.const 1) (i64.const -2))
(assert_return (invoke "call" (i32.const 1)) (i32.const 5))

(assert_trap (invoke "div_s" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div_s" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_trap (invoke "load" (i32.const 65534)) "out of bounds memory access")
(assert_trap (invoke "call" (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i32.const 2)) "undefined element")

(register "M" $M)
(module
  (import "M" "add" (func $add (param i32 i32) (result i32)))
  (import "spectest" "global_i32" (global i32))
  (func (export "add_666") (param i32) (result i32) (call $add (local.get 0) (global.get 0))))
(assert_return (invoke "add_666" (i32.const 1)) (i32.const 667))

(assert_trap (module (func $start (unreachable)) (start $start)) "unreachable")
(assert_trap
  (module (memory 1) (data (i32.const 65536) "x"))
  "out of bounds memory access")

(assert_invalid
  (module (func (result i32) (i64.const 0)))
  "type mismatch")
(assert_invalid
  (module (func (local.get 0)))
  "unknown local")
(assert_malformed
  (module quote "(func (i32.const))")
  "unexpected token")
(assert_malformed
  (module binary "\00asm" "\02\00\00\00")
  "unknown binary version")
(assert_unlinkable
  (module (import "M" "no_such_export" (func)))
  "unknown import")
(assert_unlinkable
  (module (import "M" "add" (func (param i64))))
  "incompatible import type")
