;; reserved_export: valid in every way but one: it exports a global under
;; "moat:interrupt", a name the host reserves for its deadline check, so it
;; is refused at load.
(module
  (memory (export "memory") 1)
  (global (export "moat:interrupt") (mut i32) (i32.const 0))
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "moat_describe") (result i64) (i64.const 0))
  (func (export "moat_call") (param i32 i32) (result i64) (i64.const 0))
)
