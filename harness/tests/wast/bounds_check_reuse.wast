;; The translator checks an index value once per block for the farthest end seen so far
;; and reuses the memory's base and size until the next call (see `HeapCache` in
;; compiler/src/wasm/translate.rs); a check survives calls, since memory never shrinks.
;; With the default options the knowledge also carries into a block whose only
;; predecessor is the block before (the third module) and, without base and size where a
;; call came in between, into merges and loop headers (the fourth). These accesses reuse an index with growing and
;; shrinking offsets, and grow the memory between two uses of one index, directly and in
;; a callee, so a check or a size wrongly kept would show as a missing or a wrong trap.
;; Constant addresses fold into the access and share one check per block (the farthest
;; constant end so far): the second module covers them.
(module
  (memory 1 3)
  (func $grow1 (result i32) i32.const 1 memory.grow)
  ;; offsets 0, 4, 8 from one index: the third check is the one that can fail. The first
  ;; two stores happen before it traps.
  (func (export "store_up") (param $p i32)
    local.get $p i32.const 1 i32.store offset=0
    local.get $p i32.const 2 i32.store offset=4
    local.get $p i32.const 3 i32.store offset=8)
  ;; offsets 8, 4, 0: the first check covers the other two.
  (func (export "load_down") (param $p i32) (result i32)
    local.get $p i32.load offset=8
    local.get $p i32.load offset=4
    i32.add
    local.get $p i32.load offset=0
    i32.add)
  (func (export "load") (param $p i32) (result i32) local.get $p i32.load)
  ;; One index, then memory.grow in the same block, then the same index further out: the
  ;; second access is in bounds only in the grown memory.
  (func (export "grow_between") (param $p i32) (result i32)
    local.get $p i32.load8_u offset=0
    drop
    i32.const 1 memory.grow
    drop
    local.get $p i32.load8_u offset=65536)
  ;; The same through a call to a function that grows the memory.
  (func (export "grow_in_callee_between") (param $p i32) (result i32)
    local.get $p i32.load8_u offset=0
    drop
    call $grow1
    drop
    local.get $p i32.load8_u offset=65536)
  ;; One index checked before a branch and used again after it, in another block.
  (func (export "across_blocks") (param $p i32) (param $c i32) (result i32)
    local.get $p i32.load8_u
    local.get $c
    if (result i32) i32.const 10 else i32.const 20 end
    i32.add
    local.get $p i32.load8_u offset=3
    i32.add)
  (func (export "size") (result i32) memory.size))
(invoke "store_up" (i32.const 100))
(assert_return (invoke "load_down" (i32.const 100)) (i32.const 6))
;; 65524 + 8 + 4 = 65536: the last store just fits.
(invoke "store_up" (i32.const 65524))
(assert_return (invoke "load" (i32.const 65532)) (i32.const 3))
;; 65525: the third store is out of bounds; the first two were done.
(assert_trap (invoke "store_up" (i32.const 65525)) "out of bounds memory access")
(assert_return (invoke "load" (i32.const 65525)) (i32.const 1))
(assert_return (invoke "load" (i32.const 65529)) (i32.const 2))
(assert_trap (invoke "load_down" (i32.const 65525)) "out of bounds memory access")
;; Bytes 65524.. now read 01 01 00 00 | 00 02 00 00 | 00 00 00 00 (the trapped call's two
;; stores overlap the first call's): 257 + 512 + 0.
(assert_return (invoke "load_down" (i32.const 65524)) (i32.const 769))
(assert_trap (invoke "across_blocks" (i32.const 65533) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "across_blocks" (i32.const 65532) (i32.const 1)) (i32.const 10))
(assert_return (invoke "size") (i32.const 1))
(assert_return (invoke "grow_between" (i32.const 65535)) (i32.const 0))
(assert_return (invoke "size") (i32.const 2))
(assert_return (invoke "grow_in_callee_between" (i32.const 131071)) (i32.const 0))
(assert_return (invoke "size") (i32.const 3))
;; At the maximum the grow fails, and the second access traps.
(assert_trap (invoke "grow_between" (i32.const 196607)) "out of bounds memory access")
(assert_trap (invoke "grow_in_callee_between" (i32.const 196607)) "out of bounds memory access")

(module
  (memory 1 2)
  ;; Constant addresses, nearest first: the last check is the one that can fail, after the
  ;; first two stores landed.
  (func (export "const_up") (param $v i32) (param $last i32)
    i32.const 100 local.get $v i32.store
    i32.const 65528 local.get $v i32.store
    local.get $last
    if
      i32.const 65533 local.get $v i32.store
    end
    i32.const 65532 local.get $v i32.store)
  ;; Farthest first: one check covers the rest.
  (func (export "const_down") (result i32)
    i32.const 65532 i32.load
    i32.const 100 i32.load
    i32.add
    i32.const 65528 i32.load offset=2
    i32.add)
  (func (export "const_past_end") (result i32) i32.const 65533 i32.load)
  (func (export "const_minus_one") (result i32) i32.const -1 i32.load8_u)
  (func (export "const_huge_offset") (result i32) i32.const 1 i32.load8_u offset=4294967295)
  ;; A constant address beyond the memory, then grow: in bounds only after the grow.
  (func (export "const_after_grow") (result i32)
    i32.const 65535 i32.load8_u
    drop
    i32.const 1 memory.grow
    drop
    i32.const 65536 i32.load8_u offset=65535)
  ;; A constant checked only inside a branch: the access after the branch, in another
  ;; block, is checked again.
  (func (export "const_branch_then_after") (param $c i32) (result i32)
    local.get $c
    if
      i32.const 65533 i32.load drop
    end
    i32.const 65533 i32.load)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u))
(invoke "const_up" (i32.const 0x01020304) (i32.const 0))
;; 0x01020304 at 65532 and at 100, plus the bytes 02 01 04 03 at 65530: 0x03040102.
(assert_return (invoke "const_down") (i32.const 0x0508070A))
(assert_trap (invoke "const_up" (i32.const 0x05060708) (i32.const 1)) "out of bounds memory access")
;; The trapped call's first two stores landed; its last did not run.
(assert_return (invoke "load8" (i32.const 100)) (i32.const 0x08))
(assert_return (invoke "load8" (i32.const 65528)) (i32.const 0x08))
(assert_return (invoke "load8" (i32.const 65532)) (i32.const 0x04))
(assert_trap (invoke "const_past_end") "out of bounds memory access")
(assert_trap (invoke "const_branch_then_after" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "const_branch_then_after" (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "const_minus_one") "out of bounds memory access")
(assert_trap (invoke "const_huge_offset") "out of bounds memory access")
(assert_return (invoke "const_after_grow") (i32.const 0))

;; Knowledge carried into blocks with one predecessor: the fallthrough of a br_if, the arms
;; of an if, the code after an if whose then arm left, after a block left by falling
;; through. Each second access reaches farther than the first, so it must be checked
;; again, and a grow inside the construct must be seen after it.
(module
  (memory 1 3)
  (func $grow1 (result i32) i32.const 1 memory.grow)
  (func (export "after_br_if") (param $p i32) (param $c i32) (result i32)
    (block (result i32)
      (i32.load8_u (local.get $p))
      (br_if 0 (local.get $c))
      drop
      (i32.load (local.get $p))))
  (func (export "in_arms") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (if (result i32) (local.get $c)
      (then (i32.load offset=1 (local.get $p)))
      (else (i32.load16_u offset=2 (local.get $p)))))
  (func (export "after_if_that_left") (param $p i32) (param $c i32) (result i32)
    (block $out (result i32)
      (drop (i32.load8_u (local.get $p)))
      (if (local.get $c) (then (br $out (i32.const -1))))
      (i32.load offset=2 (local.get $p))))
  (func (export "const_after_br_if") (param $c i32) (result i32)
    (block (result i32)
      (i32.load8_u (i32.const 65532))
      (br_if 0 (local.get $c))
      drop
      (i32.load (i32.const 65533))))
  (func (export "grow_in_block") (param $p i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (block (drop (call $grow1)))
    (i32.load8_u offset=65536 (local.get $p)))
  (func (export "grow_in_then") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (if (local.get $c) (then (drop (memory.grow (i32.const 1)))))
    (i32.load8_u offset=65536 (local.get $p)))
  (func (export "size") (result i32) memory.size))
(assert_return (invoke "after_br_if" (i32.const 65535) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "after_br_if" (i32.const 65535) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "after_br_if" (i32.const 65532) (i32.const 0)) (i32.const 0))
(assert_trap (invoke "in_arms" (i32.const 65532) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "in_arms" (i32.const 65531) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "in_arms" (i32.const 65533) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "in_arms" (i32.const 65532) (i32.const 0)) (i32.const 0))
(assert_return (invoke "after_if_that_left" (i32.const 65535) (i32.const 1)) (i32.const -1))
(assert_trap (invoke "after_if_that_left" (i32.const 65531) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "after_if_that_left" (i32.const 65530) (i32.const 0)) (i32.const 0))
(assert_return (invoke "const_after_br_if" (i32.const 1)) (i32.const 0))
(assert_trap (invoke "const_after_br_if" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "grow_in_then" (i32.const 65535) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "grow_in_then" (i32.const 65535) (i32.const 1)) (i32.const 0))
(assert_return (invoke "size") (i32.const 2))
(assert_return (invoke "grow_in_block" (i32.const 131071)) (i32.const 0))
(assert_return (invoke "size") (i32.const 3))
(assert_trap (invoke "grow_in_block" (i32.const 196607)) "out of bounds memory access")

;; Merges and loop headers: a check made before the construct still holds there; the size
;; must be loaded again when the construct grew the memory.
(module
  (memory 1 4)
  (func (export "after_merge") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (block (br_if 0 (local.get $c)))
    (i32.load (local.get $p)))
  (func (export "grow_in_block_merge") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (block (br_if 0 (local.get $c)) (drop (memory.grow (i32.const 1))))
    (i32.load8_u offset=65536 (local.get $p)))
  (func (export "grow_in_loop") (param $p i32) (param $n i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (loop $l
      (drop (memory.grow (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.load8_u offset=65536 (local.get $p)))
  (func (export "size") (result i32) memory.size))
(assert_trap (invoke "after_merge" (i32.const 65535) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "after_merge" (i32.const 65535) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "after_merge" (i32.const 65532) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "grow_in_block_merge" (i32.const 65535) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "grow_in_block_merge" (i32.const 65535) (i32.const 0)) (i32.const 0))
(assert_return (invoke "size") (i32.const 2))
(assert_return (invoke "grow_in_loop" (i32.const 131071) (i32.const 2)) (i32.const 0))
(assert_return (invoke "size") (i32.const 4))

;; A loop that grows the memory and then reads, in the header, past the old size: the
;; header must not keep the size loaded before the loop.
(module
  (memory 1 3)
  (func (export "grow_then_loop_back") (param $p i32) (param $n i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (loop $l
      (drop (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 65536)))
      (drop (memory.grow (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.const 0))
  (func (export "size") (result i32) memory.size))
(assert_return (invoke "grow_then_loop_back" (i32.const 65535) (i32.const 2)) (i32.const 0))
(assert_return (invoke "size") (i32.const 3))

;; A check made only inside a then arm does not hold after the if's merge.
(module
  (memory 1)
  (func (export "checked_in_then_only") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (if (local.get $c) (then (drop (i32.load offset=8 (local.get $p)))))
    (i32.load offset=4 (local.get $p))))
(assert_return (invoke "checked_in_then_only" (i32.const 65528) (i32.const 0)) (i32.const 0))
(assert_trap (invoke "checked_in_then_only" (i32.const 65529) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "checked_in_then_only" (i32.const 65525) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "checked_in_then_only" (i32.const 65524) (i32.const 1)) (i32.const 0))

;; Loops and the memory's base. A loop that calls (here a function that grows the memory,
;; which the harness then moves) must load the base again at its header; a loop that
;; calls nothing keeps the base loaded before it, also right after a growing call.
(module
  (memory 1)
  (func $grow (result i32) (memory.grow (i32.const 1)))
  (func (export "loop_calls_grow") (param $n i32) (result i32)
    (local $sum i32)
    (i32.store (i32.const 4) (i32.const 5))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 4))))
      (drop (call $grow))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "call_free_loop_after_grow") (param $n i32) (result i32)
    (local $sum i32) (local $p i32)
    (local.set $p (i32.mul (call $grow) (i32.const 65536)))
    (i32.store (local.get $p) (i32.const 9))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $p))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "size") (result i32) memory.size))
(assert_return (invoke "loop_calls_grow" (i32.const 3)) (i32.const 15))
(assert_return (invoke "size") (i32.const 4))
(assert_return (invoke "call_free_loop_after_grow" (i32.const 4)) (i32.const 36))
(assert_return (invoke "size") (i32.const 5))
(assert_return (invoke "loop_calls_grow" (i32.const 2)) (i32.const 10))
(assert_return (invoke "call_free_loop_after_grow" (i32.const 1)) (i32.const 9))
(assert_return (invoke "size") (i32.const 8))
