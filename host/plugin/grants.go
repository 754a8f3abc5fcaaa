package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/capability"
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
	kv     *capability.KV
	http   *capability.HTTP // nil without grants.http
}

func withGrants(base sandbox.Host, plugin string, grants config.Grants, kv *capability.KV) sandbox.Host {
	if base == nil {
		base = logHost{log: hclog.NewNullLogger()}
	}
	h := grantHost{Host: base, plugin: plugin, grants: grants, kv: kv}
	if grants.HTTP != nil {
		h.http = capability.NewHTTP(plugin, grants.HTTP)
	}
	return h
}

// Progress passes progress on to the client, when it asked for it.
func (h grantHost) Progress(ctx context.Context, _ string, progress, total float64, msg string) {
	if fn, ok := ctx.Value(clientProgressKey{}).(ClientProgress); ok {
		fn(progress, total, msg)
	}
}

// Capability serves config_get from the plugin's grants.config, the kv
// imports from the plugin's namespace of the store and http_request under
// its grants.http; the other capabilities are refused until moat serves
// them.
func (h grantHost) Capability(ctx context.Context, plugin, name string, args ...[]byte) ([]byte, abi.Errno, string) {
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
	case abi.ImportKVGet, abi.ImportKVSet, abi.ImportKVDelete, abi.ImportKVList:
		return h.kvCall(plugin, name, args)
	case abi.ImportHTTPRequest:
		if h.http == nil {
			return nil, abi.EPERM, fmt.Sprintf("moat.%s: plugin %q is not granted http; an operator grants it under plugins.%s.grants.http", name, plugin, plugin)
		}
		resp, err := h.http.Do(ctx, args[0])
		var ce *capability.Error
		switch {
		case errors.As(err, &ce):
			return nil, ce.Errno, fmt.Sprintf("moat.%s: %s", name, ce.Msg)
		case err != nil:
			return nil, abi.EIO, fmt.Sprintf("moat.%s: %v", name, err)
		}
		return resp, 0, ""
	}
	return nil, abi.EPERM, fmt.Sprintf("moat.%s: the %q capability is not available to plugin %q in this version of moat", name, abi.Capability(name), plugin)
}

// kvCall serves one kv import from the plugin's own namespace.
func (h grantHost) kvCall(plugin, name string, args [][]byte) ([]byte, abi.Errno, string) {
	if h.grants.KV == nil {
		return nil, abi.EPERM, fmt.Sprintf("moat.%s: plugin %q is not granted kv; an operator grants it under plugins.%s.grants.kv", name, plugin, plugin)
	}
	if h.kv == nil {
		return nil, abi.EPERM, fmt.Sprintf("moat.%s: no kv store is open for plugin %q (moat opens it at start when a plugin has plugins.%s.grants.kv); restart moat after granting kv", name, plugin, plugin)
	}
	var (
		resp []byte
		err  error
	)
	switch name {
	case abi.ImportKVGet:
		resp, err = h.kv.Get(plugin, args[0])
	case abi.ImportKVSet:
		err = h.kv.Set(plugin, args[0], args[1], h.grants.KVQuota())
	case abi.ImportKVDelete:
		err = h.kv.Delete(plugin, args[0])
	case abi.ImportKVList:
		resp, err = h.kv.List(plugin, args[0])
	}
	var ce *capability.Error
	switch {
	case errors.As(err, &ce):
		return nil, ce.Errno, fmt.Sprintf("moat.%s: %s", name, ce.Msg)
	case err != nil:
		return nil, abi.EIO, fmt.Sprintf("moat.%s: the store failed: %v", name, err)
	}
	return resp, 0, ""
}
