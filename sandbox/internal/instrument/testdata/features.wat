;; features: exported functions without parameters that use every family of
;; instructions wazero accepts by default (WebAssembly 2.0), each returning
;; something that depends on what it ran. The instrument package's tests run
;; each before and after instrumentation and compare the results.
(module $features
  (type $pair (func (param i32 i32) (result i32 i32)))
  (memory (export "memory") 1 2)
  (table $t 4 funcref)
  (table $ext 2 externref)
  (global $counter (mut i32) (i32.const 7))
  (global $big (mut i64) (i64.const 0x123456789))
  (data $d "moat instrument data segment")
  (elem $e func $double $square)
  (elem declare func $triple)
  (start $on_start)

  (func $on_start (global.set $counter (i32.add (global.get $counter) (i32.const 100))))
  (func $double (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))

  ;; the start function ran once, before anything else
  (func (export "started") (result i32) (global.get $counter))

  ;; a counted loop with br_if, locals and i64 arithmetic
  (func (export "sum_loop") (result i64)
    (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.get $acc))

  ;; nested loops, blocks and br_table
  (func (export "nested") (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    (block $out
      (loop $outer
        (local.set $j (i32.const 0))
        (loop $inner
          (block $b2 (block $b1 (block $b0
            (br_table $b0 $b1 $b2 (i32.rem_u (i32.add (local.get $i) (local.get $j)) (i32.const 3))))
            (local.set $acc (i32.add (local.get $acc) (i32.const 1))) (br $b2))
            (local.set $acc (i32.add (local.get $acc) (i32.const 10))) (br $b2))
          (local.set $acc (i32.xor (local.get $acc) (i32.const 0x55)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (i32.const 17))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.ge_u (local.get $i) (i32.const 13)))
        (br $outer)))
    (local.get $acc))

  ;; a loop with parameters and results (multi-value)
  (func (export "multi_loop") (result i32)
    (i32.const 0) (i32.const 1)
    (loop $fib (param i32 i32) (result i32 i32)
      (call $step)
      (br_if $fib (i32.lt_u (global.get $counter) (i32.const 140))))
    (drop))
  (func $step (type $pair)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (local.get 1) (i32.add (local.get 0) (local.get 1)))

  ;; recursion without loops
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "fib20") (result i32) (call $fib (i32.const 20)))

  ;; call_indirect, ref.func, table.get/set/size/grow/fill, ref.is_null, typed select
  (func (export "tables") (result i32)
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
    (table.set $t (i32.const 2) (ref.func $triple))
    (i32.add
      (i32.add
        (call_indirect $t (param i32) (result i32) (i32.const 5) (i32.const 0))
        (call_indirect $t (param i32) (result i32) (i32.const 5) (i32.const 1)))
      (i32.add
        (call_indirect $t (param i32) (result i32) (i32.const 5) (i32.const 2))
        (i32.add
          (i32.add (table.size $t) (table.grow $t (ref.null func) (i32.const 2)))
          (i32.add
            (ref.is_null (table.get $t (i32.const 3)))
            (ref.is_null (select (result externref) (ref.null extern) (table.get $ext (i32.const 0)) (i32.const 1))))))))

  ;; bulk memory and data segments
  (func (export "bulk") (result i64)
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 28))
    (memory.copy (i32.const 200) (i32.const 100) (i32.const 28))
    (memory.fill (i32.const 204) (i32.const 0x2a) (i32.const 4))
    (data.drop $d)
    (i64.add (i64.load (i32.const 200)) (i64.load offset=8 (i32.const 200))))

  ;; sign extension, saturating conversion, floats
  (func (export "numeric") (result f64)
    (f64.add
      (f64.convert_i32_s (i32.extend8_s (i32.const 0xff)))
      (f64.add
        (f64.convert_i32_s (i32.trunc_sat_f32_s (f32.const 1e30)))
        (f64.add
          (f64.convert_i64_s (i64.extend32_s (i64.const 0x80000000)))
          (f64.sqrt (f64.const 2))))))

  ;; SIMD: const, shuffle, lanes, arithmetic, loads and stores
  (func (export "simd") (result i64)
    (local $v v128)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $v (i32x4.add (local.get $v) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $v) (local.get $v))))
    (local.set $v (i32x4.replace_lane 2 (local.get $v) (i32.const 40)))
    (v128.store offset=16 (i32.const 1024) (local.get $v))
    (local.set $v (v128.load32_lane 1 (i32.const 1028) (i16x8.abs (local.get $v))))
    (local.set $v (i32x4.dot_i16x8_s (local.get $v) (v128.load32_zero (i32.const 1040))))
    (i64.add
      (i64x2.extract_lane 0 (local.get $v))
      (i64.add (i64x2.extract_lane 1 (i64x2.mul (local.get $v) (local.get $v)))
               (i64.extend_i32_u (i8x16.bitmask (local.get $v))))))

  ;; traps keep their kind
  (func (export "divide_by_zero") (result i32) (i32.div_s (i32.const 1) (i32.sub (global.get $counter) (global.get $counter))))
  (func (export "out_of_bounds") (result i32) (i32.load (i32.const 0x7ffffff0)))

  ;; a global changed by one call is seen by the next
  (func (export "bump") (result i64)
    (global.set $big (i64.mul (global.get $big) (i64.const 3)))
    (global.get $big))
)
