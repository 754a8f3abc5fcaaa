;; badschema: a plugin whose description is valid JSON Schema, but that the
;; MCP server cannot serve: an x-mcp-header on a property that is an
;; object. The go-sdk panics when such a tool is added; moat must refuse
;; the plugin at load instead, at start and when the file appears in a
;; watched plugins_dir. Hand-written; compile with
;; `wat2wasm --debug-names badschema.wat`.
(module
  (memory (export "memory") 2)

  (data (i32.const 1024) "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}")  ;; 41
  (data (i32.const 2048)
    "{\"name\":\"badschema\",\"version\":\"1.0.0\",\"tools\":["
    "{\"name\":\"where\",\"description\":\"Takes a place in a header.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"place\":{\"type\":\"object\",\"x-mcp-header\":\"Place\"}}}}]}")
  (global $describe_len i32 (i32.const 204))

  (func (export "moat_abi_version") (result i32) (i32.const 1))

  ;; a fixed buffer: one page at 65536, or 0 if the request does not fit
  (func (export "moat_alloc") (param $len i32) (result i32)
    (select (i32.const 65536) (i32.const 0) (i32.le_u (local.get $len) (i32.const 65536))))

  (func (export "moat_describe") (result i64)
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.extend_i32_u (global.get $describe_len))))

  ;; every tool answers ok
  (func (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 41)))
)
