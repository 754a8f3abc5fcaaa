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
	// Output receives what the plugin wrote to stdout or stderr: one or
	// more whole lines, joined by newlines, without the last one's. It is
	// what one write completed, so the host can scrub it whole before it
	// cuts it into lines.
	Output(plugin, stream, text string)
}

// Capabilities serves the capability imports: http_request, kv_get,
// kv_set, kv_delete, kv_list, config_get, sample and elicit. A Host that also
// implements it receives them; otherwise they answer -EPERM. args are the
// import's payloads in order (kv_set has two), already read from the
// plugin's memory and within the payload cap. The response is staged for
// read_result; an error code goes back negated, with msg staged instead.
type Capabilities interface {
	Capability(ctx context.Context, plugin, name string, args ...[]byte) (response []byte, errno abi.Errno, msg string)
}

// Progresser receives moat.progress. A Host that does not implement it
// drops progress, which the ABI allows when the client sent no token.
type Progresser interface {
	Progress(ctx context.Context, plugin string, progress, total float64, msg string)
}

// discardHost is the Host of a Spec that names none.
type discardHost struct{}

func (discardHost) Log(context.Context, string, abi.LogLevel, string) {}
func (discardHost) Output(string, string, string)                     {}
