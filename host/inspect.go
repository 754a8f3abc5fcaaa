package host

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/sandbox"
)

// Inspection is what moat inspect reports of a module.
type Inspection struct {
	Plugin       string           `json:"plugin"`
	Path         string           `json:"path"`
	SizeBytes    int              `json:"size_bytes"`
	ABIVersion   int              `json:"abi_version"`
	CompileTime  time.Duration    `json:"compile_time_ns"`
	Name         string           `json:"name"`
	Version      string           `json:"version,omitempty"`
	Description  string           `json:"description,omitempty"`
	Imports      []sandbox.Import `json:"imports"`
	Capabilities []string         `json:"possible_capabilities"`
	Requested    abi.Capabilities `json:"requested_capabilities"`
	Tools        []abi.Tool       `json:"tools"`
	// Resources, ResourceTemplates and Prompts are what the plugin serves
	// beside its tools; Prompts under the names clients see (prefixed).
	Resources         []abi.Resource         `json:"resources,omitempty"`
	ResourceTemplates []abi.ResourceTemplate `json:"resource_templates,omitempty"`
	Prompts           []abi.Prompt           `json:"prompts,omitempty"`
	// Grants compares, per capability, what the module imports, what it
	// asks for, what the configuration grants and so what it may use.
	Grants []GrantRow `json:"grants"`
	// Notices say how requests and grants differ, as moat logs at load.
	Notices []string        `json:"notices,omitempty"`
	Limits  sandbox.Limits  `json:"-"`
	Raw     json.RawMessage `json:"-"`
}

// Inspect loads the module at path, as moat would serve it, and reports
// its ABI version, imports (and so the capabilities it could ever use),
// tools, requested capabilities, size and compile time.
func Inspect(ctx context.Context, cfg *config.Config, path string) (*Inspection, error) {
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: cfg.CacheDir, HostVersion: Version})
	if err != nil {
		return nil, err
	}
	defer engine.Close(context.Background())
	p, _, err := loadForCLI(ctx, cfg, engine, path, hclog.NewNullLogger(), false)
	if err != nil {
		return nil, err
	}
	defer p.Sandbox().Close(context.Background())
	sp := p.Sandbox()
	in := &Inspection{
		Plugin:      p.Name,
		Path:        p.Path,
		SizeBytes:   sp.Size(),
		ABIVersion:  abi.Version,
		CompileTime: sp.CompileTime(),
		Name:        p.Description.Name,
		Version:     p.Description.Version,
		Description: p.Description.Description,
		Imports:     sp.Imports(),
		Requested:   p.Description.Capabilities,
		Tools:       p.Description.Tools,
		Resources:   p.Description.Resources,
		Limits:      sp.Limits(),
		Raw:         sp.Description(),
	}
	in.ResourceTemplates = p.Description.ResourceTemplates
	for _, pr := range p.Prompts {
		def := pr.Def
		def.Name = pr.Name
		in.Prompts = append(in.Prompts, def)
	}
	seen := map[string]bool{}
	for _, imp := range in.Imports {
		capability := imp.Capability
		if imp.Module == abi.ModuleWASI && imp.Name == "path_open" {
			capability = "fs"
		}
		if capability != "" && !seen[capability] {
			seen[capability] = true
			in.Capabilities = append(in.Capabilities, capability)
		}
	}
	granted := cfg.Plugins[p.Name].Grants
	for _, c := range []string{"http", "fs", "kv", "config", "sampling", "elicitation"} {
		in.Grants = append(in.Grants, GrantRow{
			Capability: c,
			Imported:   seen[c],
			Requested:  summarize(c, asked(p.Description.Capabilities), false),
			Granted:    summarize(c, granted, true),
			Usable:     summarize(c, p.Granted, true),
		})
	}
	for _, n := range p.Notices {
		in.Notices = append(in.Notices, n.Msg)
	}
	return in, nil
}

// GrantRow is one capability seen four ways. An empty string means no.
type GrantRow struct {
	Capability string `json:"capability"`
	Imported   bool   `json:"imported"`
	Requested  string `json:"requested"`
	Granted    string `json:"granted"`
	Usable     string `json:"usable"`
}

// asked puts a plugin's request in the shape of grants, to summarize both
// alike.
func asked(c abi.Capabilities) config.Grants {
	g := config.Grants{Sampling: c.Sampling, Elicitation: c.Elicitation}
	if c.HTTP != nil {
		g.HTTP = &config.HTTPGrant{Hosts: c.HTTP.Hosts}
	}
	if c.KV {
		g.KV = &config.KVGrant{}
	}
	for _, m := range c.FS {
		g.FS = append(g.FS, config.FSGrant{Mount: m.Mount, Mode: m.Mode})
	}
	if len(c.Config) > 0 {
		g.Config = make(map[string]string, len(c.Config))
		for _, k := range c.Config {
			g.Config[k] = ""
		}
	}
	return g
}

// summarize says in a few words what g holds of capability c. Config
// values are secrets: only their names are shown. withPaths adds the host
// folder of each mount and the kv quota, which a request does not have.
func summarize(c string, g config.Grants, withPaths bool) string {
	switch c {
	case "http":
		if g.HTTP != nil {
			return strings.Join(g.HTTP.Hosts, ", ")
		}
	case "fs":
		var ms []string
		for _, m := range g.FS {
			mode := "ro"
			if m.Writable() {
				mode = "rw"
			}
			if withPaths {
				ms = append(ms, m.Path+" at "+m.Mount+" ("+mode+")")
			} else {
				ms = append(ms, m.Mount+" ("+mode+")")
			}
		}
		return strings.Join(ms, ", ")
	case "kv":
		if g.KV != nil {
			if withPaths {
				return "quota " + sandbox.FormatSize(g.KVQuota())
			}
			return "yes"
		}
	case "config":
		return strings.Join(slices.Sorted(maps.Keys(g.Config)), ", ")
	case "sampling":
		if g.Sampling {
			return "yes"
		}
	case "elicitation":
		if g.Elicitation {
			return "yes"
		}
	}
	return ""
}

func pluginName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".wasm")
}
