;; A plugin that declares a table of 2,000,000 elements: 16 MB of the
;; host's memory per instance, outside limits.memory. Refused at load.
(module
  (memory (export "memory") 1)
  (table 2000000 funcref)
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "moat_describe") (result i64) (i64.const 0))
  (func (export "moat_call") (param i32 i32) (result i64) (i64.const 0)))
