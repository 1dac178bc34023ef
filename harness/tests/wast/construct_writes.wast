;; The translator tells the SSA builder which locals a `block`, `loop` or `if` may write
;; (see compiler/src/wasm/translate/writes.rs); a local it never writes is read at the
;; construct's exit or loop header from where the construct started, without a block
;; parameter. A write the scan missed, or constructs numbered differently by the scan and
;; the translator, would read a stale value here. Each function writes a local in one
;; unusual way — only through `local.tee`, only in a nested construct, only on one arm,
;; only in a loop's last iteration, only before a `br_table` exit — and reads it after.
(module
  ;; Written only by `local.tee` inside a loop; read in the header on the next trip.
  (func (export "tee_in_loop") (param $n i32) (result i32)
    (local $acc i32)
    (loop $l
      local.get $acc
      i32.const 3
      i32.add
      local.tee $acc
      local.get $n
      i32.lt_s
      br_if $l)
    local.get $acc)

  ;; Written only in a block nested three deep inside the loop.
  (func (export "nested_write") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (block
        (block
          (block
            local.get $sum
            local.get $i
            i32.add
            local.set $sum)))
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_s
      br_if $l)
    local.get $sum)

  ;; Written on the else arm only; read at the if's exit.
  (func (export "else_arm") (param $c i32) (result i32)
    (local $x i32)
    i32.const 7
    local.set $x
    (if (local.get $c)
      (then nop)
      (else i32.const 9 local.set $x))
    local.get $x)

  ;; Written by `local.tee` in the condition of a `br_if` out of a block; the block's
  ;; exit has two incoming edges.
  (func (export "tee_before_br_if") (param $p i32) (result i32)
    (local $x i32)
    (block $b
      local.get $p
      i32.const 100
      i32.add
      local.tee $x
      i32.const 150
      i32.gt_s
      br_if $b
      i32.const 1
      local.set $p)
    local.get $x
    local.get $p
    i32.add)

  ;; A loop whose only write comes after the last `br_if` back: reached once, on exit.
  (func (export "write_on_exit_path") (param $n i32) (result i32)
    (local $i i32) (local $last i32)
    (loop $l
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_s
      br_if $l
      local.get $i
      i32.const 1000
      i32.mul
      local.set $last)
    local.get $last)

  ;; `br_table` out of three nested blocks; each exit path wrote a different local first.
  (func (export "br_table_exits") (param $k i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32)
    (block $out
      (block $two
        (block $one
          (block $zero
            local.get $k
            br_table $zero $one $two $out)
          i32.const 1 local.set $a
          br $out)
        i32.const 2 local.set $b
        br $out)
      i32.const 3 local.set $c)
    local.get $a
    i32.const 100
    i32.mul
    local.get $b
    i32.const 10
    i32.mul
    i32.add
    local.get $c
    i32.add)

  ;; Constructs in unreachable code still count: the loop after them must get its own
  ;; writes (of $x), not those of the dead block (of nothing).
  (func (export "after_dead_constructs") (param $n i32) (result i32)
    (local $x i32)
    (block
      br 0
      (block (loop (if (i32.const 1) (then nop)))))
    (loop $l
      local.get $x
      i32.const 2
      i32.add
      local.tee $x
      local.get $n
      i32.lt_s
      br_if $l)
    local.get $x)

  ;; A write that only happens in dead code inside a loop still counts as a write (the
  ;; claim stays safe), and the live read sees the live value.
  (func (export "dead_write_in_loop") (param $n i32) (result i32)
    (local $i i32) (local $y i32)
    i32.const 5
    local.set $y
    (loop $l
      (block
        br 0
        i32.const 99
        local.set $y)
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_s
      br_if $l)
    local.get $y
    local.get $i
    i32.add)

  ;; Parameters are locals too: written in an inner loop, read in the outer loop's header.
  (func (export "param_in_nested_loops") (param $n i32) (param $m i32) (result i32)
    (local $i i32)
    (loop $outer
      (loop $inner
        local.get $m
        i32.const 1
        i32.add
        local.set $m
        local.get $m
        i32.const 7
        i32.rem_u
        br_if $inner)
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_s
      br_if $outer)
    local.get $m)

  ;; 70 nested blocks, deeper than the 64 the scan tracks: the inner exits get no
  ;; claim (block parameters as before), the outer ones do; $x is written only at the
  ;; innermost level and read after every `end`.
  (func (export "deep_nest") (param $p i32) (result i32)
    (local $x i32) (local $acc i32)
    i32.const 1
    local.set $x
    block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block block 
    local.get $p
    br_if 0
    i32.const 5
    local.set $x
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    end local.get $acc local.get $x i32.add local.set $acc
    local.get $acc))

(assert_return (invoke "tee_in_loop" (i32.const 10)) (i32.const 12))
(assert_return (invoke "tee_in_loop" (i32.const 0)) (i32.const 3))
(assert_return (invoke "nested_write" (i32.const 5)) (i32.const 10))
(assert_return (invoke "nested_write" (i32.const 1)) (i32.const 0))
(assert_return (invoke "else_arm" (i32.const 1)) (i32.const 7))
(assert_return (invoke "else_arm" (i32.const 0)) (i32.const 9))
(assert_return (invoke "tee_before_br_if" (i32.const 10)) (i32.const 111))
(assert_return (invoke "tee_before_br_if" (i32.const 60)) (i32.const 220))
(assert_return (invoke "write_on_exit_path" (i32.const 4)) (i32.const 4000))
(assert_return (invoke "write_on_exit_path" (i32.const 0)) (i32.const 1000))
(assert_return (invoke "br_table_exits" (i32.const 0)) (i32.const 100))
(assert_return (invoke "br_table_exits" (i32.const 1)) (i32.const 20))
(assert_return (invoke "br_table_exits" (i32.const 2)) (i32.const 3))
(assert_return (invoke "br_table_exits" (i32.const 3)) (i32.const 0))
(assert_return (invoke "br_table_exits" (i32.const 9)) (i32.const 0))
(assert_return (invoke "after_dead_constructs" (i32.const 7)) (i32.const 8))
(assert_return (invoke "dead_write_in_loop" (i32.const 3)) (i32.const 8))
(assert_return (invoke "param_in_nested_loops" (i32.const 1) (i32.const 0)) (i32.const 7))
(assert_return (invoke "param_in_nested_loops" (i32.const 2) (i32.const 0)) (i32.const 14))
(assert_return (invoke "deep_nest" (i32.const 0)) (i32.const 350))
(assert_return (invoke "deep_nest" (i32.const 1)) (i32.const 70))
