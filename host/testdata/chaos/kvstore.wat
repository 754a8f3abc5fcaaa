;; kvstore: a well-behaved plugin that keeps what it is given in the kv
;; capability, so the chaos suite can check that nothing written during an
;; attack is lost. Hand-written; compile with `wat2wasm --debug-names`.
;;
;; Tools (keys match ^[a-z0-9-]{1,64}$, which the host checks before the
;; plugin runs, so a key never holds a quote or an escape):
;;   put {key}  stores "v=" + key under key, durably, and answers "stored"
;;   get {key}  answers the value stored under key, or a tool error
;;
;; Memory layout:
;;   0..1023        unused (so 0 is never a valid result pointer)
;;   1024..         constant data
;;   16384..32767   where a value is built and a result is written
;;   65536..        the request buffer moat_alloc hands out (grown on demand)
(module $kvstore
  (import "moat" "kv_get" (func $kv_get (param i32 i32) (result i64)))
  (import "moat" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i64)))
  (import "moat" "read_result" (func $read_result (param i32 i32) (result i32)))

  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "\"key\":\"")                                    ;; 7
  (data (i32.const 1056) "put")                                            ;; 3
  (data (i32.const 1064) "get")                                            ;; 3
  (data (i32.const 1072) "v=")                                             ;; 2
  (data (i32.const 1088) "{\"content\":[{\"type\":\"text\",\"text\":\"")    ;; 35
  (data (i32.const 1128) "\"}]}")                                          ;; 4
  (data (i32.const 1136) "{\"content\":[{\"type\":\"text\",\"text\":\"stored\"}]}") ;; 45
  (data (i32.const 1184) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  (data (i32.const 1248) "{\"content\":[{\"type\":\"text\",\"text\":\"no key\"}],\"isError\":true}") ;; 60
  (data (i32.const 1312) "{\"content\":[{\"type\":\"text\",\"text\":\"kv_set failed\"}],\"isError\":true}") ;; 67
  (data (i32.const 1392) "{\"content\":[{\"type\":\"text\",\"text\":\"kv_get failed\"}],\"isError\":true}") ;; 67
  (data (i32.const 2048)
    "{\"name\":\"kvstore\",\"version\":\"1.0.0\","
    "\"description\":\"Keeps values in the kv capability.\","
    "\"tools\":["
    "{\"name\":\"put\",\"description\":\"Stores v=KEY under KEY.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"key\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9-]{1,64}$\"}},\"required\":[\"key\"]}},"
    "{\"name\":\"get\",\"description\":\"Returns the value stored under KEY.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"key\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9-]{1,64}$\"}},\"required\":[\"key\"]}}"
    "],\"capabilities\":{\"kv\":true}}")
  (global $describe_len i32 (i32.const 486))

  (global $out i32 (i32.const 16384))

  (func $moat_abi_version (export "moat_abi_version") (result i32) (i32.const 1))

  ;; one request region at 65536, grown to fit; 0 if it cannot grow
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
    (local $end i32) (local $name i32) (local $key i32) (local $p i32) (local $n i32) (local $m i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1184) (i32.const 50)))))

    ;; the key: from after "key":" to the next quote
    (local.set $key (call $find (local.get $name) (local.get $end) (i32.const 1040) (i32.const 7)))
    (if (i32.eqz (local.get $key))
      (then (return (call $pack (i32.const 1248) (i32.const 60)))))
    (local.set $p (local.get $key))
    (block $closed
      (loop $scan
        (if (i32.ge_u (local.get $p) (local.get $end))
          (then (return (call $pack (i32.const 1248) (i32.const 60)))))
        (br_if $closed (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x22)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (local.set $n (i32.sub (local.get $p) (local.get $key)))

    ;; put: kv_set(key, "v=" + key)
    (if (call $is (local.get $name) (local.get $end) (i32.const 1056) (i32.const 3))
      (then
        (memory.copy (global.get $out) (i32.const 1072) (i32.const 2))
        (memory.copy (i32.add (global.get $out) (i32.const 2)) (local.get $key) (local.get $n))
        (if (i64.lt_s
              (call $kv_set (local.get $key) (local.get $n) (global.get $out) (i32.add (local.get $n) (i32.const 2)))
              (i64.const 0))
          (then (return (call $pack (i32.const 1312) (i32.const 67)))))
        (return (call $pack (i32.const 1136) (i32.const 45)))))

    ;; get: kv_get(key), the value copied into a text result
    (if (call $is (local.get $name) (local.get $end) (i32.const 1064) (i32.const 3))
      (then
        (if (i64.lt_s (call $kv_get (local.get $key) (local.get $n)) (i64.const 0))
          (then (return (call $pack (i32.const 1392) (i32.const 67)))))
        (local.set $m (call $read_result (i32.add (global.get $out) (i32.const 35)) (i32.const 4096)))
        (if (i32.gt_u (local.get $m) (i32.const 4096))                       ;; also catches m < 0
          (then (return (call $pack (i32.const 1392) (i32.const 67)))))
        (memory.copy (global.get $out) (i32.const 1088) (i32.const 35))
        (memory.copy (i32.add (global.get $out) (i32.add (i32.const 35) (local.get $m))) (i32.const 1128) (i32.const 4))
        (return (call $pack (global.get $out) (i32.add (local.get $m) (i32.const 39))))))

    (call $pack (i32.const 1184) (i32.const 50)))

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
