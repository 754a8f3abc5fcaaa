;; echo: a moat ABI v1 plugin with one tool, echo {text}, that returns its
;; text unchanged. It does as little as a plugin can (no allocation, one
;; scan, two copies), so a benchmark of it measures the host's call
;; overhead. Hand-written; compile with `wat2wasm --debug-names echo.wat`.
;;
;; Memory layout:
;;   0..1023        unused (so 0 is never a valid result pointer)
;;   1024..         constant data
;;   16384..65535   the response buffer (fixed; a text longer than fits is a tool error)
;;   65536..        the request buffer moat_alloc hands out (grown on demand)
(module $echo
  (memory (export "memory") 2)

  (data (i32.const 1024) "\"name\":\"")                                   ;; 8
  (data (i32.const 1040) "\"text\":\"")                                   ;; 8
  (data (i32.const 1056) "echo")                                           ;; 4
  (data (i32.const 1072) "{\"content\":[{\"type\":\"text\",\"text\":\"")    ;; 35
  (data (i32.const 1112) "\"}]}")                                          ;; 4
  (data (i32.const 1120) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  (data (i32.const 1184)
    "{\"content\":[{\"type\":\"text\",\"text\":\"echo needs a string argument text\"}],\"isError\":true}") ;; 87
  (data (i32.const 1280)
    "{\"content\":[{\"type\":\"text\",\"text\":\"text is longer than echo's 48 KiB buffer\"}],\"isError\":true}") ;; 94
  (data (i32.const 2048)
    "{\"name\":\"echo\",\"version\":\"1.0.0\","
    "\"description\":\"Returns its text unchanged.\","
    "\"tools\":[{\"name\":\"echo\",\"description\":\"Returns the text it is given.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}}]}")
  (global $describe_len i32 (i32.const 241))

  (global $out i32 (i32.const 16384))
  (global $out_cap i32 (i32.const 49152))

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
    (local $end i32) (local $name i32) (local $text i32) (local $p i32) (local $c i32) (local $n i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1120) (i32.const 50)))))
    (if (i32.eqz (call $is (local.get $name) (local.get $end) (i32.const 1056) (i32.const 4)))
      (then (return (call $pack (i32.const 1120) (i32.const 50)))))

    ;; the text's raw (still escaped) bytes: up to the next unescaped quote
    (local.set $text (call $find (local.get $name) (local.get $end) (i32.const 1040) (i32.const 8)))
    (if (i32.eqz (local.get $text))
      (then (return (call $pack (i32.const 1184) (i32.const 87)))))
    (local.set $p (local.get $text))
    (block $closed
      (loop $scan
        (if (i32.ge_u (local.get $p) (local.get $end))
          (then (return (call $pack (i32.const 1184) (i32.const 87)))))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $closed (i32.eq (local.get $c) (i32.const 0x22)))        ;; "
        (local.set $p (i32.add (local.get $p)
          (select (i32.const 2) (i32.const 1) (i32.eq (local.get $c) (i32.const 0x5c))))) ;; \ skips one
        (br $scan)))
    (local.set $n (i32.sub (local.get $p) (local.get $text)))
    (if (i32.gt_u (local.get $n) (i32.sub (global.get $out_cap) (i32.const 39)))
      (then (return (call $pack (i32.const 1280) (i32.const 94)))))

    ;; prefix, text, suffix into the fixed buffer
    (memory.copy (global.get $out) (i32.const 1072) (i32.const 35))
    (memory.copy (i32.add (global.get $out) (i32.const 35)) (local.get $text) (local.get $n))
    (memory.copy (i32.add (global.get $out) (i32.add (i32.const 35) (local.get $n))) (i32.const 1112) (i32.const 4))
    (call $pack (global.get $out) (i32.add (local.get $n) (i32.const 39))))

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
