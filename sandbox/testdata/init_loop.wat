;; init_loop: a plugin, valid in every other way, whose _initialize never
;; returns. The host must give up on it at load, within its deadline.
;; Hand-written; compile with `wat2wasm --debug-names init_loop.wat`.
(module
  (memory (export "memory") 2)

  (data (i32.const 1024) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 2048)
    "{\"name\":\"init_loop\",\"version\":\"1.0.0\",\"tools\":["
    "{\"name\":\"ok\",\"description\":\"Returns the text ok.\",\"inputSchema\":{\"type\":\"object\"}}]}") ;; 131 bytes

  (func (export "moat_abi_version") (result i32) (i32.const 1))

  ;; a fixed buffer: one page at 65536, or 0 if the request does not fit
  (func (export "moat_alloc") (param $len i32) (result i32)
    (select (i32.const 65536) (i32.const 0) (i32.le_u (local.get $len) (i32.const 65536))))

  (func (export "moat_describe") (result i64)
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 131)))

  ;; the one thing wrong with this plugin: _initialize never returns
  (func (export "_initialize")
    (loop $forever (br $forever)))

  ;; every tool answers ok
  (func (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 41)))
)
