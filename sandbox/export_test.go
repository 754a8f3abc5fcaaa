package sandbox

// SetUninterruptible lets benchmarks measure calls without wazero's
// close-on-context-done, the price of enforcing the deadline.
func (e *Engine) SetUninterruptible() { e.uninterruptible = true }
