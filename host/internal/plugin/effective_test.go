package plugin_test

import (
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/plugin"
)

// Only what a plugin both asks for and is granted is usable; every
// difference is noticed once, naming what to change.
func TestEffectiveGrants(t *testing.T) {
	asked := abi.Capabilities{
		HTTP:     &abi.HTTPCapability{Hosts: []string{"api.example.com", "other.example.com"}},
		FS:       []abi.FSCapability{{Mount: "/data", Mode: "rw"}, {Mount: "/ref"}, {Mount: "/cache", Mode: "rw"}},
		Config:   []string{"API_KEY", "REGION"},
		Sampling: true,
	}
	granted := config.Grants{
		HTTP:        &config.HTTPGrant{Hosts: []string{"api.example.com"}},
		KV:          &config.KVGrant{},
		Config:      map[string]string{"API_KEY": "k", "UNUSED": "u"},
		FS:          []config.FSGrant{{Path: "/srv/data", Mount: "/data"}, {Path: "/srv/ref", Mount: "/ref", Mode: "rw"}, {Path: "/srv/x", Mount: "/x"}},
		Elicitation: true,
	}
	eff, notices := plugin.Effective("p", asked, granted)

	if eff.HTTP == nil || eff.KV != nil || eff.Elicitation {
		t.Fatalf("http %v kv %v elicitation %v", eff.HTTP, eff.KV, eff.Elicitation)
	}
	if eff.Sampling {
		t.Fatal("sampling asked for but not granted came out usable")
	}
	if len(eff.Config) != 1 || eff.Config["API_KEY"] != "k" {
		t.Fatalf("config %v; want only API_KEY", eff.Config)
	}
	if len(eff.FS) != 2 || eff.FS[0].Mount != "/data" || eff.FS[0].Writable() || eff.FS[1].Mount != "/ref" || eff.FS[1].Writable() {
		t.Fatalf("fs %+v; want /data and /ref, both read-only", eff.FS)
	}

	var all []string
	for _, n := range notices {
		all = append(all, n.Msg)
	}
	text := strings.Join(all, "\n")
	for _, want := range []struct {
		warn bool
		says string
	}{
		{false, "other.example.com"},
		{true, "granted kv but does not ask"},
		{true, "config.UNUSED"},
		{false, "config value REGION, which is not granted"},
		{true, "fs mount /x"},
		{false, "plugins.p.grants.fs: [{path: FOLDER, mount: /cache}]"},
		{false, "asks to write to /data, which is granted read-only"},
		{false, "plugins.p.grants.sampling: true"},
		{true, "granted elicitation"},
	} {
		found := false
		for _, n := range notices {
			if strings.Contains(n.Msg, want.says) {
				found = true
				if n.Warn != want.warn {
					t.Errorf("notice %q: warn %v; want %v", n.Msg, n.Warn, want.warn)
				}
			}
		}
		if !found {
			t.Errorf("no notice says %q in:\n%s", want.says, text)
		}
	}
	if len(notices) != 9 {
		t.Errorf("%d notices; want 9:\n%s", len(notices), text)
	}
}

// A plugin that asks for nothing gets nothing, whatever is granted.
func TestNothingAskedNothingUsable(t *testing.T) {
	eff, notices := plugin.Effective("p", abi.Capabilities{}, config.Grants{
		HTTP: &config.HTTPGrant{Hosts: []string{"example.com"}}, KV: &config.KVGrant{},
		Config: map[string]string{"K": "v"}, FS: []config.FSGrant{{Path: "/srv", Mount: "/srv"}}, Sampling: true, Elicitation: true,
	})
	if eff.HTTP != nil || eff.KV != nil || eff.Config != nil || eff.FS != nil || eff.Sampling || eff.Elicitation {
		t.Fatalf("usable: %+v", eff)
	}
	for _, n := range notices {
		if !n.Warn {
			t.Errorf("notice %q is not a warning", n.Msg)
		}
	}
	if len(notices) != 6 {
		t.Fatalf("%d notices; want 6", len(notices))
	}
}
