;; Memory growth up to the declared maximum, accesses at the exact new boundary, and
;; contents kept across growth (Kiln reloads base and size after every call).
(module
  (memory 1 4)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "load64") (param i32) (result i64) local.get 0 i64.load)
  ;; grows inside a loop and writes to each new page right after growing
  (func (export "grow_and_touch") (param i32) (result i32) (local i32)
    block $done
      loop $l
        local.get 0 i32.eqz br_if $done
        i32.const 1 memory.grow local.tee 1
        i32.const -1 i32.eq br_if $done
        local.get 1 i32.const 65536 i32.mul i32.const 7 i32.store8
        local.get 0 i32.const 1 i32.sub local.set 0
        br $l
      end
    end
    memory.size))
(assert_return (invoke "size") (i32.const 1))
(invoke "store8" (i32.const 65535) (i32.const 42))
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 42))
(assert_trap (invoke "load8" (i32.const 65536)) "out of bounds memory access")
(assert_trap (invoke "load64" (i32.const 65529)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 0)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 4)) (i32.const -1))
(assert_return (invoke "grow_and_touch" (i32.const 2)) (i32.const 3))
(assert_return (invoke "load8" (i32.const 65536)) (i32.const 7))
(assert_return (invoke "load8" (i32.const 131072)) (i32.const 7))
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 42))
(assert_return (invoke "load64" (i32.const 196600)) (i64.const 0))
(assert_trap (invoke "load64" (i32.const 196601)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 1)) (i32.const 3))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 0)) (i32.const 4))
(assert_return (invoke "load8" (i32.const 262143)) (i32.const 0))
(assert_trap (invoke "load8" (i32.const 262144)) "out of bounds memory access")
(assert_trap (invoke "store8" (i32.const -1) (i32.const 1)) "out of bounds memory access")

;; A memory without a maximum starts empty.
(module
  (memory 0)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u))
(assert_trap (invoke "load8" (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 1)) (i32.const 0))
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 0))
(assert_return (invoke "grow" (i32.const 65536)) (i32.const -1))
