package server

import "github.com/moat-mcp/moat/abi"

// A request runs on a goroutine the go-sdk starts for it, with a small
// stack. A call that reaches a plugin goes deep: moat's middleware and
// tool handler (large frames), schema validation (recursive), the sandbox.
// Go grows a stack by doubling it, copying it and adjusting every frame on
// it, so such a call used to pay for two or three copies, each of a deeper
// stack than the last: about 7% of moat's CPU under load. reserveStack,
// called on entry to moat's first middleware, grows the stack once, while
// it is still shallow, to what such a call needs.

// callStack is about what a call that reaches a plugin uses below moat's
// first middleware.
const callStack = 48 << 10

// reachesPlugin reports whether method is one moat serves by calling a
// plugin: the methods of moat_call.
func reachesPlugin(method string) bool {
	switch method {
	case abi.MethodToolsCall, abi.MethodResourcesRead, abi.MethodPromptsGet, abi.MethodComplete:
		return true
	}
	return false
}

// reserveStack has a frame of callStack bytes, so that the runtime grows
// the stack to fit it in one step.
//
//go:noinline
func reserveStack() {
	var frame [callStack]byte
	touch(frame[:])
}

//go:noinline
func touch(b []byte) { b[0] = 0 }
