package plugin

import (
	"context"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/observe"
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
	log     hclog.Logger
	secrets *observe.Secrets
}

// NewHost returns the sandbox.Host that logs through log. secrets are the
// values no plugin may print or log (the set the front door scrubs, which
// a reload adds to): what a plugin writes to stdout or stderr, and what it
// logs, is scrubbed of each of them, and of each line of one that spans
// several (observe.Secrets.Add holds those too), before it is cut into log
// lines. Scrubbing the lines too catches a PEM key printed a line at a
// time, which no scrub of the whole value can. log's own output should
// scrub the values too, for everything else it writes. A nil secrets
// scrubs nothing.
func NewHost(log hclog.Logger, secrets *observe.Secrets) sandbox.Host {
	return logHost{log: log, secrets: secrets}
}

// continued marks each line after the first of a plugin's message in the
// host's log, so that no line of it reads as an entry of its own (a plugin
// could otherwise write "\n<time> [ERROR] moat: ..." and forge one).
var continued = strings.NewReplacer("\r\n", "\n  | ", "\n", "\n  | ", "\r", "\n  | ")

// Log logs a plugin's message as one entry, which the log's scrubber sees
// in one write, after scrubbing it here of every line of a multi-line
// secret too.
func (h logHost) Log(ctx context.Context, plugin string, level abi.LogLevel, msg string) {
	msg = h.secrets.Scrub(msg)
	h.log.Named(plugin).Log(hclogLevel(level), continued.Replace(msg))
	if fn, ok := ctx.Value(clientLogKey{}).(ClientLog); ok {
		fn(level, plugin, msg)
	}
}

// Output logs text one line at a time, each a log entry of its own so
// that a plugin cannot forge the host's log lines, after scrubbing it
// whole: the log's own scrubber sees one line at a time.
func (h logHost) Output(plugin, stream, text string) {
	log := h.log.Named(plugin)
	for line := range strings.SplitSeq(h.secrets.Scrub(text), "\n") {
		log.Debug(line, "stream", stream)
	}
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
