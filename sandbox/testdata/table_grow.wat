;; table_grow: a hostile plugin that asks table.grow for 4,026,531,840 more
;; elements. wazero keeps table elements in the host's memory, 8 bytes
;; each, so an unbounded table would take 30 GiB of it in one instruction.
;; The tool answers "bounded" when a small growth succeeds and the huge one
;; is refused (table.grow returns -1), "unbounded" when the huge one
;; succeeds, and "cannot grow" when even the small one fails.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (data (i32.const 1024) "{\"content\":[{\"type\":\"text\",\"text\":\"bounded\"}]}")     ;; 46
  (data (i32.const 1100) "{\"content\":[{\"type\":\"text\",\"text\":\"unbounded\"}]}")   ;; 48
  (data (i32.const 1200) "{\"content\":[{\"type\":\"text\",\"text\":\"cannot grow\"}]}") ;; 50
  (data (i32.const 2048)
    "{\"name\":\"tables\",\"version\":\"1.0.0\",\"tools\":[{\"name\":\"grow\","
    "\"description\":\"Grows its table.\",\"inputSchema\":{\"type\":\"object\"}}]}") ;; 126
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  (func (export "moat_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "moat_describe") (result i64) (call $pack (i32.const 2048) (i32.const 126)))
  (func (export "moat_call") (param i32 i32) (result i64)
    (if (i32.eq (table.grow $t (ref.null func) (i32.const 1000)) (i32.const -1))
      (then (return (call $pack (i32.const 1200) (i32.const 50)))))
    (if (i32.eq (table.grow $t (ref.null func) (i32.const 0xF0000000)) (i32.const -1))
      (then (return (call $pack (i32.const 1024) (i32.const 46)))))
    (call $pack (i32.const 1100) (i32.const 48))))
