package plugin

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/sandbox"
)

// ClientProgress sends a plugin's progress to the client of the current
// call, which asked for it with a progress token.
type ClientProgress func(progress, total float64, msg string)

type clientProgressKey struct{}

// WithClientProgress returns a context whose plugin calls report progress
// through fn.
func WithClientProgress(ctx context.Context, fn ClientProgress) context.Context {
	return context.WithValue(ctx, clientProgressKey{}, fn)
}

// grantHost is one plugin's sandbox.Host: the shared logging host, plus the
// capabilities the operator granted that plugin. Capabilities not served
// yet answer -EPERM naming the grant.
type grantHost struct {
	sandbox.Host
	plugin string
	grants config.Grants
}

func withGrants(base sandbox.Host, plugin string, grants config.Grants) sandbox.Host {
	if base == nil {
		base = logHost{log: hclog.NewNullLogger()}
	}
	return grantHost{Host: base, plugin: plugin, grants: grants}
}

// Progress passes progress on to the client, when it asked for it.
func (h grantHost) Progress(ctx context.Context, _ string, progress, total float64, msg string) {
	if fn, ok := ctx.Value(clientProgressKey{}).(ClientProgress); ok {
		fn(progress, total, msg)
	}
}

// Capability serves config_get from the plugin's grants.config; the other
// capabilities are refused until moat serves them.
func (h grantHost) Capability(_ context.Context, plugin, name string, args ...[]byte) ([]byte, abi.Errno, string) {
	switch name {
	case abi.ImportConfigGet:
		if len(h.grants.Config) == 0 {
			return nil, abi.EPERM, fmt.Sprintf("moat.config_get: plugin %q is granted no configuration; an operator grants values under plugins.%s.grants.config", plugin, plugin)
		}
		v, ok := h.grants.Config[string(args[0])]
		if !ok {
			return nil, abi.ENOTFOUND, fmt.Sprintf("moat.config_get: %q is not among the values granted to plugin %q", args[0], plugin)
		}
		return []byte(v), 0, ""
	}
	return nil, abi.EPERM, fmt.Sprintf("moat.%s: the %q capability is not available to plugin %q in this version of moat", name, abi.Capability(name), plugin)
}
