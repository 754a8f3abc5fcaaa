;; describe_caps: a moat ABI v1 plugin that calls a capability import
;; (config_get) from moat_describe, when ABI v1 grants nothing, and logs
;; the message the host staged, so a test can read why it was refused.
;; Compile with `wat2wasm --debug-names describe_caps.wat`.
(module $describe_caps
  (import "moat" "log" (func $log (param i32 i32 i32)))
  (import "moat" "read_result" (func $read_result (param i32 i32) (result i32)))
  (import "moat" "config_get" (func $config_get (param i32 i32) (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "API_KEY")
  (data (i32.const 2048) "{\22name\22:\22describe_caps\22,\22tools\22:[]}")
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "moat_describe") (result i64)
    (local $n i32)
    (drop (call $config_get (i32.const 1024) (i32.const 7)))
    (local.set $n (call $read_result (i32.const 4096) (i32.const 1024)))
    (call $log (i32.const 2) (i32.const 4096) (local.get $n))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 35)))
  (func (export "moat_call") (param i32 i32) (result i64) (i64.const 0)))
