;; endless: exported functions that never return on their own, one for each
;; shape of code a deadline must stop. Only an interruption ends them.
(module $endless
  (global $sink (mut i32) (i32.const 0))

  ;; a loop that branches to itself
  (func (export "loop") (loop $l (br $l)))

  ;; recursion without a loop, deep enough to outlast any deadline before it
  ;; overflows the stack (each frame returns before the next one grows it)
  (func $tree (param $depth i32)
    (if (i32.eqz (local.get $depth)) (then (return)))
    (call $tree (i32.sub (local.get $depth) (i32.const 1)))
    (call $tree (i32.sub (local.get $depth) (i32.const 1))))
  (func (export "call_tree") (call $tree (i32.const 60)))
)
