;; calltree: a moat ABI v1 plugin whose one tool, tree, runs a call tree of
;; 2^40 calls with no loop anywhere: work that checks made only at loop
;; headers never interrupt. Compile with `wat2wasm --debug-names`.
(module $calltree
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\22content\22:[{\22type\22:\22text\22,\22text\22:\22done\22}]}") ;; 43 bytes
  (data (i32.const 2048)
    "{\22name\22:\22calltree\22,\22version\22:\221.0.0\22,"
    "\22tools\22:[{\22name\22:\22tree\22,\22description\22:\22Runs a call tree of 2^40 calls.\22,"
    "\22inputSchema\22:{\22type\22:\22object\22}}]}")
  (func (export "moat_abi_version") (result i32) (i32.const 1))
  ;; The request lands at 65536, in the second page; it must fit there.
  (func (export "moat_alloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 65536))
      (then (i32.const 0))
      (else (i32.const 65536))))
  (func (export "moat_describe") (result i64)
    (call $pack (i32.const 2048) (i32.const 143)))
  (func (export "moat_call") (param i32 i32) (result i64)
    (call $tree (i32.const 40))
    (call $pack (i32.const 1024) (i32.const 43)))
  ;; tree(n) calls tree(n-1) twice: no loop, 2^n calls.
  (func $tree (param $n i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (call $tree (i32.sub (local.get $n) (i32.const 1)))
    (call $tree (i32.sub (local.get $n) (i32.const 1))))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len)))))
