;; inithang: a plugin that loads and serves, until its tool arm is called;
;; from then on every new instance hangs in _initialize, so each call that
;; needs a fresh instance runs into the deadline. It shows a plugin that
;; never returns from _initialize while it is being served, not only at
;; load. Hand-written; compile with `wat2wasm --debug-names inithang.wat`.
;;
;; The switch lives in the kv capability (key "armed"), the one state that
;; outlives an instance, so the plugin needs plugins.NAME.grants.kv and a
;; data_dir of its own.
;;
;; Tools:
;;   ok   a well-formed result
;;   arm  stores "armed", then traps, so its instance is retired and the
;;        next call needs a new one
(module $inithang
  (import "moat" "kv_get" (func $kv_get (param i32 i32) (result i64)))
  (import "moat" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i64)))

  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "ok")                                             ;; 2
  (data (i32.const 1048) "arm")                                            ;; 3
  (data (i32.const 1056) "armed")                                          ;; 5
  (data (i32.const 1072) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 1120) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  (data (i32.const 2048)
    "{\"name\":\"inithang\",\"version\":\"1.0.0\","
    "\"description\":\"Hangs in _initialize once armed.\","
    "\"tools\":["
    "{\"name\":\"ok\",\"description\":\"Returns the text ok.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"arm\",\"description\":\"Makes every later instance hang in _initialize.\",\"inputSchema\":{\"type\":\"object\"}}"
    "],\"capabilities\":{\"kv\":true}}")
  (global $describe_len i32 (i32.const 317))

  ;; once armed, never returns: only the host's deadline ends it
  (func $initialize (export "_initialize")
    (if (i64.ge_s (call $kv_get (i32.const 1056) (i32.const 5)) (i64.const 0))
      (then (loop $forever (br $forever)))))

  (func $moat_abi_version (export "moat_abi_version") (result i32) (i32.const 1))

  ;; a fixed buffer: one page at 65536, or 0 if the request does not fit
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
    (if (call $is (local.get $name) (local.get $end) (i32.const 1040) (i32.const 2))
      (then (return (call $pack (i32.const 1072) (i32.const 41)))))
    (if (call $is (local.get $name) (local.get $end) (i32.const 1048) (i32.const 3))
      (then
        (drop (call $kv_set (i32.const 1056) (i32.const 5) (i32.const 1040) (i32.const 2)))
        (unreachable)))
    (call $pack (i32.const 1120) (i32.const 50)))

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
