;; Many results (more than fit in result registers: the rest go through the return area),
;; many arguments (the rest go on the stack), through direct, indirect and block calls.
(module
  (type $many (func (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64)
                    (result f64 i64 i32 f32 f64 i64 i32 f32 i64 i32)))
  (table 1 funcref)
  (elem (i32.const 0) $rev)
  ;; returns a permutation of some arguments
  (func $rev (type $many)
    local.get 11 local.get 9 local.get 8 local.get 6
    local.get 7 local.get 5 local.get 4 local.get 2
    local.get 13 local.get 12)
  (func $sum (param f64 i64 i32 f32 f64 i64 i32 f32 i64 i32) (result f64)
    local.get 0 local.get 1 f64.convert_i64_s f64.add
    local.get 2 f64.convert_i32_s f64.add local.get 3 f64.promote_f32 f64.add
    local.get 4 f64.add local.get 5 f64.convert_i64_s f64.add
    local.get 6 f64.convert_i32_s f64.add local.get 7 f64.promote_f32 f64.add
    local.get 8 f64.convert_i64_s f64.add local.get 9 f64.convert_i32_s f64.add)
  (func $args (result i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64)
    i32.const 1 i64.const 2 f32.const 3 f64.const 4 i32.const 5 i64.const 6
    f32.const 7 f64.const 8 i32.const 9 i64.const 10 f32.const 11 f64.const 12
    i32.const 13 i64.const 14)
  (func (export "direct") (result f64 i64 i32 f32 f64 i64 i32 f32 i64 i32)
    call $args call $rev)
  (func (export "indirect") (result f64 i64 i32 f32 f64 i64 i32 f32 i64 i32)
    call $args i32.const 0 call_indirect (type $many))
  (func (export "summed") (result f64)
    call $args call $rev call $sum)
  (func (export "block") (result i64 i32 i64)
    block (result i64 i32 i64) i64.const -1 i32.const -2 i64.const -3 end))
(assert_return (invoke "direct")
  (f64.const 12) (i64.const 10) (i32.const 9) (f32.const 7)
  (f64.const 8) (i64.const 6) (i32.const 5) (f32.const 3)
  (i64.const 14) (i32.const 13))
(assert_return (invoke "indirect")
  (f64.const 12) (i64.const 10) (i32.const 9) (f32.const 7)
  (f64.const 8) (i64.const 6) (i32.const 5) (f32.const 3)
  (i64.const 14) (i32.const 13))
(assert_return (invoke "summed") (f64.const 87))
(assert_return (invoke "block") (i64.const -1) (i32.const -2) (i64.const -3))
