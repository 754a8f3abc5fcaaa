package plugin

import (
	"context"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox"
)

// ClientLog sends a plugin's log message to the client of the current call.
type ClientLog func(level abi.LogLevel, plugin, msg string)

type clientLogKey struct{}

// WithClientLog returns a context whose plugin calls also log to the client
// through fn.
func WithClientLog(ctx context.Context, fn ClientLog) context.Context {
	return context.WithValue(ctx, clientLogKey{}, fn)
}

// logHost is the sandbox.Host of every plugin: logs go to the host's log,
// named after the plugin, and to the client of the call that made them.
type logHost struct {
	log hclog.Logger
}

// NewHost returns the sandbox.Host that logs through log.
func NewHost(log hclog.Logger) sandbox.Host {
	return logHost{log: log}
}

func (h logHost) Log(ctx context.Context, plugin string, level abi.LogLevel, msg string) {
	h.log.Named(plugin).Log(hclogLevel(level), msg)
	if fn, ok := ctx.Value(clientLogKey{}).(ClientLog); ok {
		fn(level, plugin, msg)
	}
}

func (h logHost) Output(plugin, stream, line string) {
	h.log.Named(plugin).Debug(line, "stream", stream)
}

func hclogLevel(l abi.LogLevel) hclog.Level {
	switch l {
	case abi.LogDebug:
		return hclog.Debug
	case abi.LogWarn:
		return hclog.Warn
	case abi.LogError:
		return hclog.Error
	}
	return hclog.Info
}
