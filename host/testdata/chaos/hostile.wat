;; hostile: a plugin that attacks the host through the ABI rather than by
;; crashing, for the chaos suite. Hand-written; compile with
;; `wat2wasm --debug-names hostile.wat`.
;;
;; Tools:
;;   logflood     calls moat.log with 16 KiB messages until the deadline ends it
;;   stdoutflood  writes 16 KiB lines to WASI stdout until the deadline ends it
;;   badptrs      calls every host function with pointers and lengths outside
;;                its memory (and lengths past every cap); answers "refused"
;;                when the host refused each one, else a tool error naming
;;                the first import that accepted
;;   notresult    returns JSON that is not a CallToolResult MCP clients can
;;                read: a content block of an unknown type
;;   ok           a well-formed result
;;
;; Memory layout:
;;   0..1023        unused (so 0 is never a valid result pointer)
;;   1024..         constant data
;;   4096..20479    the 16 KiB flood message (filled at run time)
;;   20480..        the WASI iovec and the nwritten out-parameter
;;   24576..        where badptrs builds its answer
;;   65536..        the request buffer moat_alloc hands out (grown on demand)
(module $hostile
  (import "moat" "log" (func $log (param i32 i32 i32)))
  (import "moat" "progress" (func $progress (param f64 f64 i32 i32)))
  (import "moat" "read_result" (func $read_result (param i32 i32) (result i32)))
  (import "moat" "http_request" (func $http_request (param i32 i32) (result i64)))
  (import "moat" "kv_get" (func $kv_get (param i32 i32) (result i64)))
  (import "moat" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i64)))
  (import "moat" "kv_delete" (func $kv_delete (param i32 i32) (result i64)))
  (import "moat" "kv_list" (func $kv_list (param i32 i32) (result i64)))
  (import "moat" "config_get" (func $config_get (param i32 i32) (result i64)))
  (import "moat" "sample" (func $sample (param i32 i32) (result i64)))
  (import "moat" "elicit" (func $elicit (param i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))

  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "logflood")                                       ;; 8
  (data (i32.const 1056) "stdoutflood")                                    ;; 11
  (data (i32.const 1072) "badptrs")                                        ;; 7
  (data (i32.const 1088) "notresult")                                      ;; 9
  (data (i32.const 1104) "ok")                                             ;; 2
  (data (i32.const 1120) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 1168) "{\"content\":[{\"type\":\"text\",\"text\":\"refused\"}]}")  ;; 46
  (data (i32.const 1216) "{\"content\":[{\"type\":\"mystery\",\"text\":\"?\"}]}")  ;; 43
  (data (i32.const 1264) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  ;; the answer when the host accepted a bad pointer: the import's name goes
  ;; between the two halves
  (data (i32.const 1328) "{\"content\":[{\"type\":\"text\",\"text\":\"the host accepted a bad pointer in ")  ;; 70
  (data (i32.const 1408) "\"}],\"isError\":true}")                         ;; 19
  ;; import names, 16 bytes apart, in the order badptrs tries them
  (data (i32.const 1440) "read_result")    ;; 0   11
  (data (i32.const 1456) "http_request")   ;; 1   12
  (data (i32.const 1472) "kv_get")         ;; 2   6
  (data (i32.const 1488) "kv_set")         ;; 3   6
  (data (i32.const 1504) "kv_delete")      ;; 4   9
  (data (i32.const 1520) "kv_list")        ;; 5   7
  (data (i32.const 1536) "config_get")     ;; 6   10
  (data (i32.const 1552) "sample")         ;; 7   6
  (data (i32.const 1568) "elicit")         ;; 8   6
  (data (i32.const 1584) "fd_write")       ;; 9   8
  (data (i32.const 1600) "random_get")     ;; 10  10
  (data (i32.const 1616) "kv_set value")   ;; 11  12
  (data (i32.const 1632) "\0b\0c\06\06\09\07\0a\06\06\08\0a\0c")  ;; their lengths
  (data (i32.const 2048)
    "{\"name\":\"hostile\",\"version\":\"1.0.0\","
    "\"description\":\"Attacks the host through its ABI.\","
    "\"tools\":["
    "{\"name\":\"logflood\",\"description\":\"Logs 16 KiB messages until stopped.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"stdoutflood\",\"description\":\"Writes 16 KiB lines to stdout until stopped.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"badptrs\",\"description\":\"Calls every host function with bad pointers.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"notresult\",\"description\":\"Returns a content block of an unknown type.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"ok\",\"description\":\"Returns the text ok.\",\"inputSchema\":{\"type\":\"object\"}}"
    "]}")
  (global $describe_len i32 (i32.const 624))

  (global $msg i32 (i32.const 4096))
  (global $msg_len i32 (i32.const 16384))
  (global $iov i32 (i32.const 20480))
  (global $out i32 (i32.const 24576))
  ;; far outside a memory of a few pages, and near the end of the 4 GiB space
  (global $bad i32 (i32.const 0xFFFFFFF0))

  (func $moat_abi_version (export "moat_abi_version") (result i32) (i32.const 1))

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
    (local $end i32) (local $name i32) (local $which i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1264) (i32.const 50)))))

    (if (call $is (local.get $name) (local.get $end) (i32.const 1104) (i32.const 2))
      (then (return (call $pack (i32.const 1120) (i32.const 41)))))

    ;; logflood: error-level messages of 16 KiB, the most log takes, forever
    (if (call $is (local.get $name) (local.get $end) (i32.const 1040) (i32.const 8))
      (then
        (memory.fill (global.get $msg) (i32.const 0x41) (global.get $msg_len))
        (loop $flood
          (call $log (i32.const 3) (global.get $msg) (global.get $msg_len))
          (br $flood))))

    ;; stdoutflood: 16 KiB lines on stdout, forever
    (if (call $is (local.get $name) (local.get $end) (i32.const 1056) (i32.const 11))
      (then
        (memory.fill (global.get $msg) (i32.const 0x42) (global.get $msg_len))
        (i32.store8 (i32.add (global.get $msg) (i32.sub (global.get $msg_len) (i32.const 1))) (i32.const 0x0a))
        (i32.store (global.get $iov) (global.get $msg))
        (i32.store (i32.add (global.get $iov) (i32.const 4)) (global.get $msg_len))
        (loop $flood
          (drop (call $fd_write (i32.const 1) (global.get $iov) (i32.const 1) (i32.add (global.get $iov) (i32.const 8))))
          (br $flood))))

    (if (call $is (local.get $name) (local.get $end) (i32.const 1072) (i32.const 7))
      (then
        (local.set $which (call $badptrs))
        (if (i32.lt_s (local.get $which) (i32.const 0))
          (then (return (call $pack (i32.const 1168) (i32.const 46)))))
        (return (call $accepted (local.get $which)))))

    (if (call $is (local.get $name) (local.get $end) (i32.const 1088) (i32.const 9))
      (then (return (call $pack (i32.const 1216) (i32.const 43)))))

    (call $pack (i32.const 1264) (i32.const 50)))

  ;; $badptrs calls each host function with arguments outside memory and
  ;; returns the index of the first that did not refuse, or -1.
  (func $badptrs (result i32)
    ;; log and progress return nothing: they must simply not crash the host
    (call $log (i32.const 1) (global.get $bad) (i32.const 1000))
    (call $log (i32.const 99) (i32.const 65000) (i32.const 0x7FFFFFFF))
    (call $progress (f64.const 1) (f64.const 2) (global.get $bad) (i32.const 1000))
    (call $progress (f64.const nan) (f64.const inf) (i32.const 65000) (i32.const 0xFFFFFFFF))

    (if (i32.ge_s (call $read_result (global.get $bad) (i32.const 100)) (i32.const 0))
      (then (if (i32.ne (call $read_result (global.get $bad) (i32.const 100)) (i32.const 0))
        (then (return (i32.const 0))))))
    (if (i64.ge_s (call $http_request (global.get $bad) (i32.const 64)) (i64.const 0))
      (then (return (i32.const 1))))
    (if (i64.ge_s (call $kv_get (i32.const 65000) (i32.const 0x7FFFFFFF)) (i64.const 0))
      (then (return (i32.const 2))))
    (if (i64.ge_s (call $kv_set (global.get $bad) (i32.const 8) (i32.const 1024) (i32.const 8)) (i64.const 0))
      (then (return (i32.const 3))))
    (if (i64.ge_s (call $kv_set (i32.const 1024) (i32.const 8) (global.get $bad) (i32.const 0xFFFFFFFF)) (i64.const 0))
      (then (return (i32.const 11))))
    (if (i64.ge_s (call $kv_delete (global.get $bad) (i32.const 64)) (i64.const 0))
      (then (return (i32.const 4))))
    (if (i64.ge_s (call $kv_list (i32.const 131000) (i32.const 1000)) (i64.const 0))
      (then (return (i32.const 5))))
    (if (i64.ge_s (call $config_get (global.get $bad) (i32.const 16)) (i64.const 0))
      (then (return (i32.const 6))))
    (if (i64.ge_s (call $sample (global.get $bad) (i32.const 0xFFFFFFFF)) (i64.const 0))
      (then (return (i32.const 7))))
    (if (i64.ge_s (call $elicit (i32.const 0) (i32.const 0x00200000)) (i64.const 0))
      (then (return (i32.const 8))))
    ;; WASI answers with an errno: 0 would mean it wrote from or to outside memory
    (i32.store (global.get $iov) (global.get $bad))
    (i32.store (i32.add (global.get $iov) (i32.const 4)) (i32.const 4096))
    (if (i32.eqz (call $fd_write (i32.const 1) (global.get $iov) (i32.const 1) (i32.add (global.get $iov) (i32.const 8))))
      (then (return (i32.const 9))))
    (if (i32.eqz (call $random_get (global.get $bad) (i32.const 64)))
      (then (return (i32.const 10))))
    (i32.const -1))

  ;; $accepted builds the tool error naming import number $i.
  (func $accepted (param $i i32) (result i64)
    (local $n i32)
    (local.set $n (i32.load8_u (i32.add (i32.const 1632) (local.get $i))))
    (memory.copy (global.get $out) (i32.const 1328) (i32.const 70))
    (memory.copy (i32.add (global.get $out) (i32.const 70))
      (i32.add (i32.const 1440) (i32.shl (local.get $i) (i32.const 4))) (local.get $n))
    (memory.copy (i32.add (global.get $out) (i32.add (i32.const 70) (local.get $n))) (i32.const 1408) (i32.const 19))
    (call $pack (global.get $out) (i32.add (local.get $n) (i32.const 89))))

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
