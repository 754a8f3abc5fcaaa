;; future_import: a moat ABI v1 plugin that imports a host function of
;; module "moat" this host does not provide, as a plugin built for a newer
;; moat would; it must be refused at load, naming the import and the host.
(module $future_import
  (import "moat" "teleport" (func $teleport (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "moat_describe") (result i64) (i64.const 0))
  (func (export "moat_call") (param i32 i32) (result i64) (call $teleport (i32.const 0) (i32.const 0))))
