;; Two modules linked through register: functions, a memory, a table and a mutable global
;; are shared; the importer calls the exporter, which calls back into the importer through
;; the shared table.
(module $A
  (memory (export "mem") 1 3)
  (table (export "tab") 4 funcref)
  (global (export "counter") (mut i32) (i32.const 0))
  (type $cb (func (param i32) (result i32)))
  (func (export "bump") (param i32) (result i32)
    global.get 0 local.get 0 i32.add global.set 0 global.get 0)
  ;; calls table[slot](x) and stores the result at address 100
  (func (export "call_back") (param i32 i32) (result i32)
    i32.const 100
    local.get 1 local.get 0 call_indirect (type $cb)
    i32.store
    i32.const 100 i32.load)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "grow") (result i32) i32.const 1 memory.grow))
(register "A" $A)
(module $B
  (import "A" "mem" (memory 1))
  (import "A" "tab" (table 2 funcref))
  (import "A" "counter" (global $c (mut i32)))
  (import "A" "bump" (func $bump (param i32) (result i32)))
  (import "A" "call_back" (func $call_back (param i32 i32) (result i32)))
  (elem (i32.const 1) $triple)
  (func $triple (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
  (func (export "use_bump") (result i32)
    i32.const 5 call $bump drop i32.const 2 call $bump)
  (func (export "counter") (result i32) global.get $c)
  (func (export "set_counter") (param i32) local.get 0 global.set $c)
  (func (export "round_trip") (param i32) (result i32)
    i32.const 1 local.get 0 call $call_back)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "size") (result i32) memory.size))
(assert_return (invoke $B "use_bump") (i32.const 7))
(assert_return (invoke $B "counter") (i32.const 7))
(invoke $B "set_counter" (i32.const 40))
(assert_return (invoke $A "bump" (i32.const 2)) (i32.const 42))
(assert_return (get $A "counter") (i32.const 42))
(assert_return (invoke $B "round_trip" (i32.const 14)) (i32.const 42))
(assert_return (invoke $A "load" (i32.const 100)) (i32.const 42))
(invoke $B "store" (i32.const 200) (i32.const 0x12345678))
(assert_return (invoke $A "load" (i32.const 200)) (i32.const 0x12345678))
(assert_return (invoke $A "grow") (i32.const 1))
(assert_return (invoke $B "size") (i32.const 2))
(assert_trap (invoke $A "call_back" (i32.const 0) (i32.const 1)) "uninitialized element")
(assert_unlinkable
  (module (import "A" "bump" (func (param i64) (result i32))))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "mem" (memory 1 2)))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "nothing" (func)))
  "unknown import")
