package sandbox

// SetUninterruptible lets benchmarks measure calls with no deadline check
// at all, the floor the checks are compared with.
func (e *Engine) SetUninterruptible() { e.check = checkNone }

// SetWazeroCheck makes the engine stop calls with wazero's own
// close-on-context-done instead of the instrumented check, to compare.
func (e *Engine) SetWazeroCheck() { e.check = checkWazero }
