;; A plugin whose initial memory (2000 pages, 125MiB) exceeds the default
;; 64MiB ceiling: refused at load with a message that names limits.memory.
(module
  (memory (export "memory") 2000)
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "moat_describe") (result i64) (i64.const 0))
  (func (export "moat_call") (param i32 i32) (result i64) (i64.const 0)))
