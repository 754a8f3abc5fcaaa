;; start_loop: a start function that never returns. Instrumented, it runs
;; when the host calls moat:start, where the interrupt flag can stop it.
(module $start_loop
  (global $sink (mut i32) (i32.const 0))
  (func $spin (loop $l (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (br $l)))
  (start $spin)
  (func (export "never_reached") (result i32) (global.get $sink))
)
