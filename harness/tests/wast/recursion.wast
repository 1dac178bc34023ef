;; Deep (but bounded) recursion completes on every engine; unbounded recursion exhausts the
;; stack through the prologue check (`stk_ovf`), also when the frames are large.
(module
  (func $depth (export "depth") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $depth i32.const 1 i32.add end)
  (func $even (export "even") (param i64) (result i32)
    local.get 0 i64.eqz if (result i32) i32.const 1
    else local.get 0 i64.const 1 i64.sub call $odd end)
  (func $odd (param i64) (result i32)
    local.get 0 i64.eqz if (result i32) i32.const 0
    else local.get 0 i64.const 1 i64.sub call $even end)
  (func $forever (export "forever") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $forever)
  ;; many live values across the recursive call make a big frame
  (func $fat (export "fat") (param i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0 i64.const 3 i64.mul local.set 1
    local.get 0 i64.const 5 i64.mul local.set 2
    local.get 0 i64.const 7 i64.mul local.set 3
    local.get 0 i64.const 11 i64.mul local.set 4
    local.get 0 i64.const 13 i64.mul local.set 5
    local.get 0 i64.const 17 i64.mul local.set 6
    local.get 0 i64.const 19 i64.mul local.set 7
    local.get 0 i64.const 23 i64.mul local.set 8
    local.get 0 i64.const 1 i64.add call $fat
    local.get 1 i64.add local.get 2 i64.add local.get 3 i64.add local.get 4 i64.add
    local.get 5 i64.add local.get 6 i64.add local.get 7 i64.add local.get 8 i64.add))
(assert_return (invoke "depth" (i32.const 900)) (i32.const 900))
(assert_return (invoke "even" (i64.const 800)) (i32.const 1))
(assert_return (invoke "even" (i64.const 801)) (i32.const 0))
(assert_exhaustion (invoke "forever" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "fat" (i64.const 0)) "call stack exhausted")
;; the instance still works after exhaustion
(assert_return (invoke "depth" (i32.const 10)) (i32.const 10))
