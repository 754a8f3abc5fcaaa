package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
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

// ClientRequest sends a request a plugin makes of the client of the current
// call, sampling/createMessage or elicitation/create, with the plugin's
// params, and returns the client's result. It fails with a
// *capability.Error carrying the ABI's code (EUNSUPPORTED when the client
// cannot serve the method, EINVAL for params that are not the method's);
// other errors are taken as the client's failure, or as the end of the
// call when ctx has ended.
type ClientRequest func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)

type clientRequestKey struct{}

// WithClientRequest returns a context whose plugin calls send their sample
// and elicit requests through fn. Without it they answer -EUNSUPPORTED: no
// client is there to ask.
func WithClientRequest(ctx context.Context, fn ClientRequest) context.Context {
	return context.WithValue(ctx, clientRequestKey{}, fn)
}

// MCP methods the sample and elicit imports send to the client.
const (
	MethodCreateMessage = "sampling/createMessage"
	MethodElicit        = "elicitation/create"
)

// grantHost is one plugin's sandbox.Host: the shared logging host, plus the
// capabilities the operator granted that plugin. Capabilities not served
// yet answer -EPERM naming the grant.
type grantHost struct {
	sandbox.Host
	plugin string
	grants config.Grants
	// askedConfig are the config names the plugin's description asks for.
	askedConfig []string
	kv          capability.Store
	http        *capability.HTTP // nil without grants.http
	// served is the plugin once it is loaded, for the URIs it serves;
	// notify tells the server a URI of its changed.
	served *servedRef
	notify func(uri string)
}

// servedRef points at a plugin from before it exists: its host functions
// are granted before the description's resources are bound to it.
type servedRef struct{ p atomic.Pointer[Plugin] }

func withGrants(base sandbox.Host, plugin string, grants config.Grants, askedConfig []string, kv capability.Store) grantHost {
	if base == nil {
		base = logHost{log: hclog.NewNullLogger()}
	}
	h := grantHost{Host: base, plugin: plugin, grants: grants, askedConfig: askedConfig, kv: kv}
	if grants.HTTP != nil {
		h.http = capability.NewHTTP(plugin, grants.HTTP)
	}
	return h
}

// Progress passes progress on to the client, when it asked for it.
func (h grantHost) Progress(ctx context.Context, _ string, progress, total float64, msg string) {
	Interacted(ctx)
	if fn, ok := ctx.Value(clientProgressKey{}).(ClientProgress); ok {
		fn(progress, total, msg)
	}
}

// Capability serves config_get from the plugin's grants.config, the kv
// imports from the plugin's namespace of the store, http_request under its
// grants.http, and sample and elicit through the client of the call under
// grants.sampling and grants.elicitation; the other capabilities are
// refused until moat serves them.
func (h grantHost) Capability(ctx context.Context, plugin, name string, args ...[]byte) ([]byte, abi.Errno, string) {
	switch name {
	case abi.ImportConfigGet:
		key := string(args[0])
		if v, ok := h.grants.Config[key]; ok {
			return []byte(v), 0, ""
		}
		if slices.Contains(h.askedConfig, key) {
			return nil, abi.EPERM, fmt.Sprintf("moat.config_get: plugin %q asks for the value %q, which is not granted; an operator grants it under plugins.%s.grants.config.%s", plugin, key, plugin, key)
		}
		return nil, abi.ENOTFOUND, fmt.Sprintf("moat.config_get: %q is not among the values plugin %q asks for (capabilities.config in its description), so moat holds none for it", key, plugin)
	case abi.ImportKVGet, abi.ImportKVSet, abi.ImportKVDelete, abi.ImportKVList:
		return h.kvCall(ctx, plugin, name, args)
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
	case abi.ImportNotifyResourceUpdated:
		return h.notifyUpdated(plugin, args[0])
	case abi.ImportSample:
		return h.clientCall(ctx, plugin, name, h.grants.Sampling, MethodCreateMessage, args[0])
	case abi.ImportElicit:
		return h.clientCall(ctx, plugin, name, h.grants.Elicitation, MethodElicit, args[0])
	}
	return nil, abi.EPERM, fmt.Sprintf("moat.%s: this moat serves no %q capability to plugin %q", name, abi.Capability(name), plugin)
}

// notifyUpdated serves notify_resource_updated: a URI of the plugin's own
// resources, or one its templates match, is passed to the server, which
// tells the sessions subscribed to it. It needs no grant: a plugin may only
// speak of its own resources.
func (h grantHost) notifyUpdated(plugin string, raw []byte) ([]byte, abi.Errno, string) {
	const name = abi.ImportNotifyResourceUpdated
	uri := string(raw)
	if !utf8.Valid(raw) {
		return nil, abi.EINVAL, fmt.Sprintf("moat.%s: the URI is not UTF-8", name)
	}
	var p *Plugin
	if h.served != nil {
		p = h.served.p.Load()
	}
	if p == nil || !p.serves(uri) {
		return nil, abi.EINVAL, fmt.Sprintf("moat.%s: %s is not one of plugin %q's resources, nor matched by its resource templates; announce only URIs the plugin describes", name, quoteClipped(uri), plugin)
	}
	if h.notify != nil {
		h.notify(uri)
	}
	return nil, 0, ""
}

// kvCall serves one kv import from the plugin's own namespace.
func (h grantHost) kvCall(ctx context.Context, plugin, name string, args [][]byte) ([]byte, abi.Errno, string) {
	if h.grants.KV == nil {
		return nil, abi.EPERM, fmt.Sprintf("moat.%s: plugin %q is not granted kv; an operator grants it under plugins.%s.grants.kv", name, plugin, plugin)
	}
	if h.kv == nil {
		return nil, abi.EPERM, fmt.Sprintf("moat.%s: no kv store is open for plugin %q: moat opens it at start when a plugin has plugins.%s.grants.kv (restart moat after granting kv), and serves without it when another moat holds the store in data_dir (see moat's log)", name, plugin, plugin)
	}
	var (
		resp []byte
		err  error
	)
	switch name {
	case abi.ImportKVGet:
		resp, err = h.kv.Get(ctx, plugin, args[0])
	case abi.ImportKVSet:
		err = h.kv.Set(ctx, plugin, args[0], args[1], h.grants.KVQuota())
	case abi.ImportKVDelete:
		err = h.kv.Delete(ctx, plugin, args[0])
	case abi.ImportKVList:
		resp, err = h.kv.List(ctx, plugin, args[0])
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

// clientCall serves sample and elicit: it sends method to the client of
// the call that runs the plugin, and hands back the client's answer.
func (h grantHost) clientCall(ctx context.Context, plugin, name string, granted bool, method string, params []byte) ([]byte, abi.Errno, string) {
	Interacted(ctx)
	capName := abi.Capability(name)
	if !granted {
		return nil, abi.EPERM, fmt.Sprintf("moat.%s: plugin %q is not granted %s; an operator grants it with plugins.%s.grants.%s: true", name, plugin, capName, plugin, capName)
	}
	fn, ok := ctx.Value(clientRequestKey{}).(ClientRequest)
	if !ok {
		return nil, abi.EUNSUPPORTED, fmt.Sprintf("moat.%s: this call has no client session to send %s to (a call made outside MCP, or over a transport without one)", name, method)
	}
	resp, err := fn(ctx, method, params)
	if err == nil {
		return resp, 0, ""
	}
	var ce *capability.Error
	switch {
	case errors.As(err, &ce):
		return nil, ce.Errno, fmt.Sprintf("moat.%s: %s", name, ce.Msg)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, abi.ETIMEDOUT, fmt.Sprintf("moat.%s: the call's deadline (limits.timeout) passed while the client was answering %s", name, method)
	case ctx.Err() != nil:
		return nil, abi.ECANCELED, fmt.Sprintf("moat.%s: the call was cancelled while the client was answering %s", name, method)
	}
	return nil, abi.EIO, fmt.Sprintf("moat.%s: the client failed to answer %s: %v", name, method, err)
}
