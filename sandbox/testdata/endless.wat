;; endless: a moat ABI v1 plugin whose tools each run past any deadline in a
;; different shape of code, so that the sandbox's tests can check that the
;; deadline stops every shape and the plugin answers again afterwards.
;; Hand-written (the chain functions are repetitive by design); compile with
;; `wat2wasm --debug-names endless.wat`.
;;
;; The tool is chosen by the first letter of its name in the request:
;;   loop   loops forever (a loop that branches to itself)
;;   tree   a call tree without loops: $tree(n) calls $tree(n-1) twice, 2^60 calls
;;   deep   recurses 20000 frames deep without a loop, then runs the tree there
;;   chain  a straight chain of calls, no loop, no recursion: 40 levels, each
;;          calling the next four times in a row (4^40 calls)
;;   iterate  a tight loop of 10^7 iterations, then answers (the benchmark of
;;          what the check costs per loop iteration)
;;   ok     answers at once
(module $endless
  (memory (export "memory") 2)
  (data (i32.const 1024) "\"name\":\"")                                    ;; 8
  (data (i32.const 1152) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 2048)
    "{\"name\":\"endless\",\"version\":\"1.0.0\","
    "\"description\":\"Runs past any deadline, in several shapes of code.\","
    "\"tools\":["
    "{\"name\":\"ok\",\"description\":\"Returns ok.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"loop\",\"description\":\"Loops forever.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"tree\",\"description\":\"A call tree of 2^60 calls.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"deep\",\"description\":\"Deep recursion, then the tree.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"chain\",\"description\":\"A chain of 4^40 calls.\",\"inputSchema\":{\"type\":\"object\"}}"
    "]}")
  (global $describe_len i32 (i32.const 540))
  (global $sink (mut i32) (i32.const 0))

  (func (export "moat_abi_version") (result i32) (i32.const 1))

  ;; one fixed request buffer at 65536
  (func (export "moat_alloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 65536))
      (then (i32.const 0))
      (else (i32.const 65536))))

  (func (export "moat_describe") (result i64)
    (call $pack (i32.const 2048) (global.get $describe_len)))

  (func (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (local $name i32) (local $c i32)
    (local.set $name (call $find (local.get $ptr) (i32.add (local.get $ptr) (local.get $len)) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name)) (then (unreachable)))
    (local.set $c (i32.load8_u (local.get $name)))
    (if (i32.eq (local.get $c) (i32.const 0x6c)) (then (call $spin)))                       ;; l
    (if (i32.eq (local.get $c) (i32.const 0x74)) (then (call $tree (i32.const 60))))         ;; t
    (if (i32.eq (local.get $c) (i32.const 0x64)) (then (call $deep (i32.const 20000))))      ;; d
    (if (i32.eq (local.get $c) (i32.const 0x63)) (then (call $chain0)))                      ;; c
    (if (i32.eq (local.get $c) (i32.const 0x69)) (then (call $iterate (i32.const 10000000)))) ;; i
    (call $pack (i32.const 1152) (i32.const 41)))

  (func $spin (loop $forever (br $forever)))

  (func $iterate (param $n i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $next (local.get $n)))
    (global.set $sink (local.get $acc)))

  (func $tree (param $n i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (call $tree (i32.sub (local.get $n) (i32.const 1)))
    (call $tree (i32.sub (local.get $n) (i32.const 1))))

  (func $deep (param $n i32)
    (if (i32.eqz (local.get $n)) (then (call $tree (i32.const 60)) (return)))
    (call $deep (i32.sub (local.get $n) (i32.const 1)))
    (global.set $sink (i32.add (global.get $sink) (i32.const 1))))

  (func $chain0 (call $chain1) (call $chain1) (call $chain1) (call $chain1))
  (func $chain1 (call $chain2) (call $chain2) (call $chain2) (call $chain2))
  (func $chain2 (call $chain3) (call $chain3) (call $chain3) (call $chain3))
  (func $chain3 (call $chain4) (call $chain4) (call $chain4) (call $chain4))
  (func $chain4 (call $chain5) (call $chain5) (call $chain5) (call $chain5))
  (func $chain5 (call $chain6) (call $chain6) (call $chain6) (call $chain6))
  (func $chain6 (call $chain7) (call $chain7) (call $chain7) (call $chain7))
  (func $chain7 (call $chain8) (call $chain8) (call $chain8) (call $chain8))
  (func $chain8 (call $chain9) (call $chain9) (call $chain9) (call $chain9))
  (func $chain9 (call $chain10) (call $chain10) (call $chain10) (call $chain10))
  (func $chain10 (call $chain11) (call $chain11) (call $chain11) (call $chain11))
  (func $chain11 (call $chain12) (call $chain12) (call $chain12) (call $chain12))
  (func $chain12 (call $chain13) (call $chain13) (call $chain13) (call $chain13))
  (func $chain13 (call $chain14) (call $chain14) (call $chain14) (call $chain14))
  (func $chain14 (call $chain15) (call $chain15) (call $chain15) (call $chain15))
  (func $chain15 (call $chain16) (call $chain16) (call $chain16) (call $chain16))
  (func $chain16 (call $chain17) (call $chain17) (call $chain17) (call $chain17))
  (func $chain17 (call $chain18) (call $chain18) (call $chain18) (call $chain18))
  (func $chain18 (call $chain19) (call $chain19) (call $chain19) (call $chain19))
  (func $chain19 (call $chain20) (call $chain20) (call $chain20) (call $chain20))
  (func $chain20 (call $chain21) (call $chain21) (call $chain21) (call $chain21))
  (func $chain21 (call $chain22) (call $chain22) (call $chain22) (call $chain22))
  (func $chain22 (call $chain23) (call $chain23) (call $chain23) (call $chain23))
  (func $chain23 (call $chain24) (call $chain24) (call $chain24) (call $chain24))
  (func $chain24 (call $chain25) (call $chain25) (call $chain25) (call $chain25))
  (func $chain25 (call $chain26) (call $chain26) (call $chain26) (call $chain26))
  (func $chain26 (call $chain27) (call $chain27) (call $chain27) (call $chain27))
  (func $chain27 (call $chain28) (call $chain28) (call $chain28) (call $chain28))
  (func $chain28 (call $chain29) (call $chain29) (call $chain29) (call $chain29))
  (func $chain29 (call $chain30) (call $chain30) (call $chain30) (call $chain30))
  (func $chain30 (call $chain31) (call $chain31) (call $chain31) (call $chain31))
  (func $chain31 (call $chain32) (call $chain32) (call $chain32) (call $chain32))
  (func $chain32 (call $chain33) (call $chain33) (call $chain33) (call $chain33))
  (func $chain33 (call $chain34) (call $chain34) (call $chain34) (call $chain34))
  (func $chain34 (call $chain35) (call $chain35) (call $chain35) (call $chain35))
  (func $chain35 (call $chain36) (call $chain36) (call $chain36) (call $chain36))
  (func $chain36 (call $chain37) (call $chain37) (call $chain37) (call $chain37))
  (func $chain37 (call $chain38) (call $chain38) (call $chain38) (call $chain38))
  (func $chain38 (call $chain39) (call $chain39) (call $chain39) (call $chain39))
  (func $chain39 (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (global.set $sink (i32.add (global.get $sink) (i32.const 1))))

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; the address just past the first occurrence of the needle in [p, end), or 0
  (func $find (param $p i32) (param $end i32) (param $needle i32) (param $n i32) (result i32)
    (local $i i32)
    (block $notfound
      (loop $at
        (br_if $notfound (i32.gt_u (i32.add (local.get $p) (local.get $n)) (local.get $end)))
        (local.set $i (i32.const 0))
        (block $mismatch
          (loop $cmp
            (if (i32.eq (local.get $i) (local.get $n))
              (then (return (i32.add (local.get $p) (local.get $n)))))
            (br_if $mismatch (i32.ne
              (i32.load8_u (i32.add (local.get $p) (local.get $i)))
              (i32.load8_u (i32.add (local.get $needle) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $cmp)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $at)))
    (i32.const 0))
)
