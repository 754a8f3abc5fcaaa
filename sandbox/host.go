package sandbox

import (
	"context"

	"github.com/moat-mcp/moat/abi"
)

// Host is what a plugin reaches outside its sandbox. The caller of Load
// implements it; the sandbox calls it from the plugin's host functions. The
// context passed is the call's own (nil-free; during load it is the load's).
type Host interface {
	// Log receives a message the plugin logged with moat.log.
	Log(ctx context.Context, plugin string, level abi.LogLevel, msg string)
	// Output receives a line the plugin wrote to stdout or stderr.
	Output(plugin, stream, line string)
}

// discardHost is the Host of a Spec that names none.
type discardHost struct{}

func (discardHost) Log(context.Context, string, abi.LogLevel, string) {}
func (discardHost) Output(string, string, string)                     {}
