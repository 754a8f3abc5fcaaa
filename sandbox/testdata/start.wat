;; start: a plugin, valid in every other way, that exports _start: a WASI
;; command, not a reactor. The host must refuse it at load and say how to build
;; a reactor.
;; Hand-written; compile with `wat2wasm --debug-names start.wat`.
(module
  (memory (export "memory") 2)

  (data (i32.const 1024) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 2048)
    "{\"name\":\"start\",\"version\":\"1.0.0\",\"tools\":["
    "{\"name\":\"ok\",\"description\":\"Returns the text ok.\",\"inputSchema\":{\"type\":\"object\"}}]}") ;; 127 bytes

  (func (export "moat_abi_version") (result i32) (i32.const 1))

  ;; a fixed buffer: one page at 65536, or 0 if the request does not fit
  (func (export "moat_alloc") (param $len i32) (result i32)
    (select (i32.const 65536) (i32.const 0) (i32.le_u (local.get $len) (i32.const 65536))))

  (func (export "moat_describe") (result i64)
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 127)))

  ;; the one thing wrong with this plugin: a command's entry point
  (func (export "_start"))

  ;; every tool answers ok
  (func (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 41)))
)
