package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Redacted stands in for a secret in EffectiveYAML.
const Redacted = "[redacted]"

// SecretValues are the values moat must keep out of everything it sends:
// each value read through a ${env:} or ${file:} reference (by any file,
// even one a later file overrides) and every plugins.*.grants.config value.
// Sorted, without duplicates or empty strings.
func (c *Config) SecretValues() []string {
	out := slices.Clone(c.secrets)
	out = append(out, c.RequestState.Key)
	out = append(out, c.redisPassword())
	for _, p := range c.Plugins {
		for _, v := range p.Grants.Config {
			out = append(out, v)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// EffectiveYAML is the configuration as moat will run it, as YAML: every
// default filled in, paths absolute, and for the top level and each
// configured plugin the limits, breaker, prefix and path as they layer.
// Each value that came through a ${env:} or ${file:} reference, and each
// grants.config value, reads "[redacted]". API key digests are shown: they
// are digests, not keys. Plugins found only in plugins_dir are not listed.
// defaults are the limits of a plugin that sets none (the sandbox's), so
// that every limit is written out.
func (c *Config) EffectiveYAML(defaults Limits) ([]byte, error) {
	e := *c
	e.Limits = c.Limits.Over(defaults)
	e.Breaker = c.Breaker.over(DefaultBreaker)
	if r := c.Store.Redis; r != nil {
		// The URL may hold the password: written with it replaced.
		redacted := *r
		redacted.URL = RedactURL(r.URL)
		e.Store.Redis = &redacted
	}
	e.Plugins = make(map[string]Plugin, len(c.Plugins))
	for name, p := range c.Plugins {
		if c.Absent(name) {
			continue
		}
		prefix := c.PluginPrefix(name)
		p.Path, p.Prefix = c.PluginPath(name), &prefix
		p.Limits = c.PluginLimits(name).Over(defaults)
		p.Breaker = c.PluginBreaker(name)
		// A zero size means "the default" when read but is no size when
		// written ("0B" does not load): write the defaults out.
		if g := p.Grants.KV; g != nil {
			kv := *g
			kv.Quota = Size(p.Grants.KVQuota())
			p.Grants.KV = &kv
		}
		if g := p.Grants.HTTP; g != nil {
			h := *g
			h.MaxResponse, h.Timeout = Size(g.HTTPMaxResponse()), Duration(g.HTTPTimeout())
			p.Grants.HTTP = &h
		}
		e.Plugins[name] = p
	}
	var n yaml.Node
	if err := n.Encode(&e); err != nil {
		return nil, fmt.Errorf("writing the effective configuration: %w", err)
	}
	c.redact(&n, "", nil)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("writing the effective configuration: %w", err)
	}
	return out.Bytes(), enc.Close()
}

// redact replaces the secrets under n, at the key path path.
func (c *Config) redact(n *yaml.Node, path string, segs []string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, child := range n.Content {
			c.redact(child, path, segs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			c.redact(n.Content[i+1], join(path, key), append(slices.Clip(segs), key))
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			c.redact(item, fmt.Sprintf("%s[%d]", path, i), append(slices.Clip(segs), fmt.Sprintf("[%d]", i)))
		}
	case yaml.ScalarNode:
		grant := len(segs) == 5 && segs[0] == "plugins" && segs[2] == "grants" && segs[3] == "config"
		stateKey := path == "request_state.key" && n.Value != ""
		if grant || stateKey || c.secretPaths[path] {
			n.Tag, n.Value, n.Style = "!!str", Redacted, yaml.DoubleQuotedStyle
		} else if strings.Contains(n.Value, "${") {
			// A literal ${ was written $${; written back as it is, it
			// would be read as a reference.
			n.Value = strings.ReplaceAll(n.Value, "${", "$${")
		}
	}
}

// MarshalYAML writes d as it is read: "10s", "1m30s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalYAML writes z as it is read: "64MiB", "100B".
func (z Size) MarshalYAML() (any, error) { return z.String(), nil }
