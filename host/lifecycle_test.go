package host_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A Host is built, serves, takes a whole new configuration through Reload
// (refusing a bad one whole, the running one staying), and closes.
func TestHostLifecycle(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	testplugin.WriteTo(t, fixture(t, "sandbox/testdata/echo.wat"), pdir, "echo")
	parse := func(extra string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(chaosDoc(extra)), "lifecycle test", dir)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	ready := make(chan net.Addr, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	h, err := host.New(ctx, parse(""), host.ServeOptions{Log: hclog.NewNullLogger(), Ready: func(a net.Addr) { ready <- a }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx) }()
	var url string
	select {
	case a := <-ready:
		url = "http://" + a.String() + "/mcp"
	case err := <-served:
		t.Fatalf("Serve returned before listening: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not listening within a minute")
	}
	c, err := connectClient(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	tools := func() []string {
		res, err := c.session.ListTools(ctx, &mcp.ListToolsParams{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range res.Tools {
			names = append(names, tl.Name)
		}
		return names
	}
	if got := tools(); !slices.Equal(got, []string{"echo_echo"}) {
		t.Fatalf("tools %v", got)
	}

	// A configuration that fails is refused whole; the running one stays.
	if err := h.Reload(ctx, parse("audit: {path: "+filepath.Join(dir, "no", "such", "folder", "audit.log")+"}\nplugins:\n  echo: {prefix: \"e_\"}\n")); err == nil || !strings.Contains(err.Error(), "audit") {
		t.Fatalf("a reload whose audit file cannot open: %v; want it refused naming audit", err)
	}
	if got := tools(); !slices.Equal(got, []string{"echo_echo"}) {
		t.Fatalf("after a refused reload, tools %v; want the running configuration's", got)
	}
	// So is one that names a plugin that does not load: nothing of it
	// applies, not even the prefix of the plugin that would load.
	junk := filepath.Join(dir, "junk.wasm")
	if err := os.WriteFile(junk, []byte("\x00asm junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(ctx, parse("plugins:\n  echo: {prefix: \"x_\"}\n  junk: {path: "+junk+"}\n")); err == nil || !strings.Contains(err.Error(), `plugin "junk"`) {
		t.Fatalf("a reload naming a plugin that does not load: %v; want it refused naming the plugin", err)
	}
	if got := tools(); !slices.Equal(got, []string{"echo_echo"}) {
		t.Fatalf("after a refused reload, tools %v; want the running configuration's", got)
	}
	// A good one applies whole.
	if err := h.Reload(ctx, parse("plugins:\n  echo: {prefix: \"e_\"}\n")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !slices.Equal(tools(), []string{"e_echo"}); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the reload, tools %v; want e_echo", tools())
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.Close()
}
