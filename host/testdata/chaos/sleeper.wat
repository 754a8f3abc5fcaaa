;; sleeper: a plugin that sleeps through WASI poll_oneoff, which the ABI
;; allows ("sleeping works"). Hand-written; compile with
;; `wat2wasm --debug-names sleeper.wat`.
;;
;; Tools:
;;   nap        sleeps 300 ms, then answers "awake": a slow, healthy tool
;;   hibernate  sleeps one hour: only the host's deadline can end the call
;;
;; Memory layout:
;;   0..1023        unused (so 0 is never a valid result pointer)
;;   1024..         constant data
;;   8192..         the clock subscription (48 bytes), the event (32), nevents
;;   65536..        the request buffer moat_alloc hands out
(module $sleeper
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "nap")                                            ;; 3
  (data (i32.const 1048) "hibernate")                                      ;; 9
  (data (i32.const 1072) "{\"content\":[{\"type\":\"text\",\"text\":\"awake\"}]}")  ;; 44
  (data (i32.const 1120) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  (data (i32.const 2048)
    "{\"name\":\"sleeper\",\"version\":\"1.0.0\","
    "\"description\":\"Sleeps through WASI.\","
    "\"tools\":["
    "{\"name\":\"nap\",\"description\":\"Sleeps 300 ms.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"hibernate\",\"description\":\"Sleeps one hour.\",\"inputSchema\":{\"type\":\"object\"}}"
    "]}")
  (global $describe_len i32 (i32.const 247))

  (global $sub i32 (i32.const 8192))

  (func $moat_abi_version (export "moat_abi_version") (result i32) (i32.const 1))

  (func $moat_alloc (export "moat_alloc") (param $len i32) (result i32)
    (select (i32.const 65536) (i32.const 0) (i32.le_u (local.get $len) (i32.const 65536))))

  (func $moat_describe (export "moat_describe") (result i64)
    (call $pack (i32.const 2048) (global.get $describe_len)))

  (func $moat_call (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $name i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1120) (i32.const 50)))))
    (if (call $is (local.get $name) (local.get $end) (i32.const 1040) (i32.const 3))
      (then
        (call $sleep (i64.const 300000000))
        (return (call $pack (i32.const 1072) (i32.const 44)))))
    (if (call $is (local.get $name) (local.get $end) (i32.const 1048) (i32.const 9))
      (then
        (call $sleep (i64.const 3600000000000))
        (return (call $pack (i32.const 1072) (i32.const 44)))))
    (call $pack (i32.const 1120) (i32.const 50)))

  ;; $sleep waits ns nanoseconds on the monotonic clock: one relative clock
  ;; subscription to poll_oneoff.
  (func $sleep (param $ns i64)
    (memory.fill (global.get $sub) (i32.const 0) (i32.const 84))
    (i32.store8 (i32.add (global.get $sub) (i32.const 8)) (i32.const 0))    ;; tag: clock
    (i32.store (i32.add (global.get $sub) (i32.const 16)) (i32.const 1))    ;; id: monotonic
    (i64.store (i32.add (global.get $sub) (i32.const 24)) (local.get $ns))  ;; timeout
    (drop (call $poll_oneoff
      (global.get $sub)
      (i32.add (global.get $sub) (i32.const 48))
      (i32.const 1)
      (i32.add (global.get $sub) (i32.const 80)))))

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; $find returns the address just past the first occurrence of the needle
  ;; in [p, end), or 0.
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

  ;; $is reports whether the string at p is exactly the n bytes at lit,
  ;; followed by a closing quote.
  (func $is (param $p i32) (param $end i32) (param $lit i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.ge_u (i32.add (local.get $p) (local.get $n)) (local.get $end))
      (then (return (i32.const 0))))
    (block $done
      (loop $cmp
        (br_if $done (i32.eq (local.get $i) (local.get $n)))
        (if (i32.ne
              (i32.load8_u (i32.add (local.get $p) (local.get $i)))
              (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cmp)))
    (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $n))) (i32.const 0x22)))
)
