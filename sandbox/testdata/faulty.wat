;; faulty: a moat ABI v1 plugin whose tools each misbehave in one way, so the
;; sandbox's fault tests can check that every fault is contained and
;; classified. Hand-written; compile with `wat2wasm --debug-names faulty.wat`
;; (the name section lets a trap's stack trace name $boom).
;;
;; Memory layout:
;;   0..1023      unused (so 0 is never a valid result pointer)
;;   1024..       constant data: the description and canned responses
;;   65536..      the request buffer moat_alloc hands out (grown on demand)
(module $faulty
  (memory (export "memory") 2)

  ;; --- constant data ---------------------------------------------------
  ;; key searched for in the request
  (data (i32.const 1024) "\"name\":\"")                                    ;; 8 bytes
  ;; tool names, compared exactly (the byte after must be a closing quote)
  (data (i32.const 1040) "ok")                                              ;; 2
  (data (i32.const 1048) "loop")                                            ;; 4
  (data (i32.const 1056) "grow")                                            ;; 4
  (data (i32.const 1064) "trap")                                            ;; 4
  (data (i32.const 1072) "oob")                                             ;; 3
  (data (i32.const 1080) "huge")                                            ;; 4
  (data (i32.const 1088) "badjson")                                         ;; 7
  (data (i32.const 1096) "recurse")                                         ;; 7
  ;; responses
  (data (i32.const 1152) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 1216) "not json{")                                       ;; 9
  (data (i32.const 1232) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool\"}}") ;; 50
  ;; the description
  (data (i32.const 2048)
    "{\"name\":\"faulty\",\"version\":\"1.0.0\","
    "\"description\":\"Misbehaves on purpose: one tool per fault the sandbox must contain.\","
    "\"tools\":["
    "{\"name\":\"ok\",\"description\":\"Returns the text ok.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"loop\",\"description\":\"Loops forever.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"grow\",\"description\":\"Grows memory until it cannot, then traps.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"trap\",\"description\":\"Executes unreachable in $boom.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"oob\",\"description\":\"Returns a result outside memory.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"huge\",\"description\":\"Returns a 2 MiB result.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"badjson\",\"description\":\"Returns bytes that are not JSON.\",\"inputSchema\":{\"type\":\"object\"}},"
    "{\"name\":\"recurse\",\"description\":\"Recurses until the stack is exhausted.\",\"inputSchema\":{\"type\":\"object\"}}"
    "]}")
  (global $describe_len i32 (i32.const 882))

  ;; --- ABI exports -----------------------------------------------------
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
    (local $end i32) (local $name i32) (local $old i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $name (call $find (local.get $ptr) (local.get $end) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $name))
      (then (return (call $pack (i32.const 1232) (i32.const 50)))))

    ;; ok: a well-formed result
    (if (call $is (local.get $name) (local.get $end) (i32.const 1040) (i32.const 2))
      (then (return (call $pack (i32.const 1152) (i32.const 41)))))

    ;; loop: never returns; only the host's deadline ends it
    (if (call $is (local.get $name) (local.get $end) (i32.const 1048) (i32.const 4))
      (then (loop $forever (br $forever))))

    ;; grow: one page at a time until memory.grow fails, then trap
    (if (call $is (local.get $name) (local.get $end) (i32.const 1056) (i32.const 4))
      (then
        (block $full
          (loop $more
            (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $more)))
        (unreachable)))

    ;; trap: unreachable inside a named function
    (if (call $is (local.get $name) (local.get $end) (i32.const 1064) (i32.const 4))
      (then (call $boom)))

    ;; oob: ptr 0xFFFF0000, len 100, far outside memory
    (if (call $is (local.get $name) (local.get $end) (i32.const 1072) (i32.const 3))
      (then (return (call $pack (i32.const 0xFFFF0000) (i32.const 100)))))

    ;; huge: 2 MiB of (zeroed) memory that exists, above a 1 MiB output cap
    (if (call $is (local.get $name) (local.get $end) (i32.const 1080) (i32.const 4))
      (then
        (local.set $old (memory.grow (i32.const 33)))
        (if (i32.eq (local.get $old) (i32.const -1)) (then (unreachable)))
        (return (call $pack (i32.shl (local.get $old) (i32.const 16)) (i32.const 0x200000)))))

    ;; badjson: bytes that are not JSON
    (if (call $is (local.get $name) (local.get $end) (i32.const 1088) (i32.const 7))
      (then (return (call $pack (i32.const 1216) (i32.const 9)))))

    ;; recurse: exhausts the stack
    (if (call $is (local.get $name) (local.get $end) (i32.const 1096) (i32.const 7))
      (then (drop (call $recurse (i32.const 0)))))

    (call $pack (i32.const 1232) (i32.const 50)))

  ;; --- the faults ------------------------------------------------------
  (func $boom
    (unreachable))

  ;; Not a tail call: the add after it keeps every frame alive.
  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))

  ;; --- helpers ---------------------------------------------------------
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
