;; hostcalls: a moat ABI v1 plugin that calls the host functions of module
;; "moat", so the sandbox's tests can check each one end to end, including a
;; bad pointer and cancellation. Hand-written; compile with
;; `wat2wasm --debug-names hostcalls.wat`.
;;
;; Memory layout:
;;   0..1023        unused (so 0 is never a valid result pointer)
;;   1024..         constant data
;;   16384..        the response buffer http builds its result in
;;   65536..        the request buffer moat_alloc hands out (grown on demand)
(module $hostcalls
  (import "moat" "log" (func $log (param i32 i32 i32)))
  (import "moat" "cancelled" (func $cancelled (result i32)))
  (import "moat" "read_result" (func $read_result (param i32 i32) (result i32)))
  (import "moat" "http_request" (func $http_request (param i32 i32) (result i64)))

  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "log")                                            ;; 3
  (data (i32.const 1048) "http")                                           ;; 4
  (data (i32.const 1056) "badptr")                                         ;; 6
  (data (i32.const 1064) "spin")                                           ;; 4
  (data (i32.const 1072) "hello from wat")                                 ;; 14
  (data (i32.const 1088) "{\"method\":\"GET\",\"url\":\"https://example.com/\"}") ;; 45
  (data (i32.const 1152) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 1200) "{\"content\":[{\"type\":\"text\",\"text\":\"unexpected success\"}]}") ;; 57
  (data (i32.const 1264) "{\"content\":[{\"type\":\"text\",\"text\":\"cancelled\"}],\"isError\":true}") ;; 63
  (data (i32.const 1328) "{\"content\":[{\"type\":\"text\",\"text\":\"")    ;; 35
  (data (i32.const 1368) "\"}]}")                                          ;; 4
  (data (i32.const 1376) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  (data (i32.const 2048)
    "{\"name\":\"hostcalls\",\"version\":\"1.0.0\","
    "\"description\":\"Calls the moat host functions.\","
    "\"tools\":["
    "{\"name\":\"log\",\"description\":\"Logs hello from wat at info level.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"http\",\"description\":\"Makes an HTTP request and returns the host's error message.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"badptr\",\"description\":\"Logs from a pointer outside memory.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"spin\",\"description\":\"Spins until the call is cancelled.\",\"inputSchema\":{\"type\":\"object\"}}"
    "],\"capabilities\":{\"http\":{\"hosts\":[\"example.com\"]}}}")
  (global $describe_len i32 (i32.const 568))

  (global $out i32 (i32.const 16384))
  (global $msg_cap i32 (i32.const 4096))

  (func $moat_abi_version (export "moat_abi_version") (result i32) (i32.const 1))

  ;; moat_alloc always returns 65536: the buffer is the plugin's again once
  ;; the call it was passed to returns, so one region serves every call.
  ;; Memory grows to fit len; 0 if it cannot.
  (func $moat_alloc (export "moat_alloc") (param $len i32) (result i32)
    (local $need i64) (local $have i64)
    (local.set $need (i64.add (i64.const 65536) (i64.extend_i32_u (local.get $len))))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.wrap_i64 (i64.shr_u
                (i64.add (i64.sub (local.get $need) (local.get $have)) (i64.const 65535))
                (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  (func $moat_describe (export "moat_describe") (result i64)
    (call $pack (i32.const 2048) (global.get $describe_len)))

  (func $moat_call (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $name i32) (local $n i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1376) (i32.const 50)))))

    ;; log: "hello from wat" at info, then ok
    (if (call $is (local.get $name) (local.get $end) (i32.const 1040) (i32.const 3))
      (then
        (call $log (i32.const 1) (i32.const 1072) (i32.const 14))
        (return (call $pack (i32.const 1152) (i32.const 41)))))

    ;; http: expects a refusal (-EPERM when not granted) and returns the
    ;; message the host staged, as the text of the result
    (if (call $is (local.get $name) (local.get $end) (i32.const 1048) (i32.const 4))
      (then
        (if (i64.ge_s (call $http_request (i32.const 1088) (i32.const 45)) (i64.const 0))
          (then (return (call $pack (i32.const 1200) (i32.const 57)))))
        (local.set $n (call $read_result
          (i32.add (global.get $out) (i32.const 35)) (global.get $msg_cap)))
        (if (i32.gt_u (local.get $n) (global.get $msg_cap))    ;; also catches n < 0
          (then (local.set $n (i32.const 0))))
        (memory.copy (global.get $out) (i32.const 1328) (i32.const 35))
        (memory.copy (i32.add (global.get $out) (i32.add (i32.const 35) (local.get $n))) (i32.const 1368) (i32.const 4))
        (return (call $pack (global.get $out) (i32.add (local.get $n) (i32.const 39))))))

    ;; badptr: a message pointer outside memory; the host must refuse it
    ;; quietly, not crash
    (if (call $is (local.get $name) (local.get $end) (i32.const 1056) (i32.const 6))
      (then
        (call $log (i32.const 1) (i32.const 0xFFFFFFF0) (i32.const 1000))
        (return (call $pack (i32.const 1152) (i32.const 41)))))

    ;; spin: busy until the host says the call is cancelled
    (if (call $is (local.get $name) (local.get $end) (i32.const 1064) (i32.const 4))
      (then
        (loop $wait
          (br_if $wait (i32.ne (call $cancelled) (i32.const 1))))
        (return (call $pack (i32.const 1264) (i32.const 63)))))

    (call $pack (i32.const 1376) (i32.const 50)))

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

  ;; $is reports whether the string at p (a JSON string body, before end) is
  ;; exactly the n bytes at lit: they match and a closing quote follows.
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
