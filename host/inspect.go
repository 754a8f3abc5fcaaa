package host

import (
	"context"
	"encoding/json"
	"path/filepath"
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
	Limits       sandbox.Limits   `json:"-"`
	Raw          json.RawMessage  `json:"-"`
}

// Inspect loads the module at path, as moat would serve it, and reports
// its ABI version, imports (and so the capabilities it could ever use),
// tools, requested capabilities, size and compile time.
func Inspect(ctx context.Context, cfg *config.Config, path string) (*Inspection, error) {
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: cfg.CacheDir})
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
		Limits:      sp.Limits(),
		Raw:         sp.Description(),
	}
	seen := map[string]bool{}
	for _, imp := range in.Imports {
		if imp.Capability != "" && !seen[imp.Capability] {
			seen[imp.Capability] = true
			in.Capabilities = append(in.Capabilities, imp.Capability)
		}
	}
	return in, nil
}

func pluginName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".wasm")
}
