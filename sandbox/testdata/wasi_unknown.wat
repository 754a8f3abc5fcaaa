;; A plugin importing a function WASI preview 1 does not define: refused at
;; load, naming the import, before any of its code runs.
(module
  (import "wasi_snapshot_preview1" "sock_teleport" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "moat_describe") (result i64) (i64.const 0))
  (func (export "moat_call") (param i32 i32) (result i64) (i64.const 0)))
