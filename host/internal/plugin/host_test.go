package plugin

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testKey is a multi-line secret, shaped like a PEM private key.
const testKey = `-----BEGIN TEST PRIVATE KEY-----
MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAq7BFUpkGp3+LQmlQ
Yx2eqODA9X2g8h3yuVpWBYb4zPQWaoUO2I5gBJ5r1pHk7LuVmCjz4xUpGcKG8ZSd
kRGjGwIDAQABAkEAg5TQH4HzKp6Bd8nLNUKyS7hbOzZV1x5o0DNHXZ0rqT4cOwRR
-----END TEST PRIVATE KEY-----`

// A plugin granted a multi-line secret that prints it to stdout or stderr,
// whole or a line at a time, or logs it through moat.log, never gets a line
// of it into the host's log, in text or JSON: what it writes is scrubbed
// before it is cut into log lines, and of each secret both the whole and
// every line.
func TestMultiLineSecretNeverReachesTheLog(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "host/internal/plugin/testdata/secretprint"), dir, "secretprint")
	yaml := "plugins:\n  secretprint:\n    grants:\n      config:\n        KEY: |-\n          " +
		strings.ReplaceAll(testKey, "\n", "\n          ") + "\n"
	cfg, err := config.Parse([]byte(yaml), "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	if got := cfg.Plugins["secretprint"].Grants.Config["KEY"]; got != testKey {
		t.Fatalf("the test's YAML grants %q", got)
	}
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	for _, json := range []bool{false, true} {
		secrets := observe.NewSecrets()
		secrets.Add(cfg.SecretValues()...)
		var out syncBuffer
		log := hclog.New(&hclog.LoggerOptions{Name: "moat", Level: hclog.Debug, Output: secrets.Writer(&out), JSONFormat: json})
		reg, errs := Load(context.Background(), cfg, engine, Options{Host: NewHost(log, secretsOf(cfg)), Log: log})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		tool, ok := reg.Tool("secretprint_print")
		if !ok {
			t.Fatalf("no secretprint_print among %v", toolNames(reg))
		}
		for _, where := range []string{"stdout", "stderr", "lines", "log", "loglines"} {
			if res, err := tool.Call(context.Background(), []byte(`{"where":"`+where+`"}`), nil); err != nil || !strings.Contains(string(res), "printed") {
				t.Fatalf("print to %s: %s, %v", where, res, err)
			}
		}
		reg.Close(context.Background())
		logged := out.String()
		var shown []int
		for i, line := range strings.Split(testKey, "\n") {
			if strings.Contains(logged, line) {
				shown = append(shown, i+1)
			}
		}
		if len(shown) > 0 {
			t.Errorf("json=%v: lines %v of the secret are in the host's log:\n%s", json, shown, logged)
		}
		if n := strings.Count(logged, "[redacted]"); n < 5 {
			t.Errorf("json=%v: %d redactions in the log; want at least one for each way of printing:\n%s", json, n, logged)
		}
	}
}

// writes records each Write to a log destination.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (r *writes) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = append(r.w, string(p))
	return len(p), nil
}

// A message of several lines a plugin logs with moat.log reaches the log's
// writer in one Write, so a scrubbing writer sees it whole, and none of its
// lines can pass for an entry of the host's own.
func TestMultiLineLogMessageIsOneEntry(t *testing.T) {
	var w writes
	log := hclog.New(&hclog.LoggerOptions{Name: "moat", Output: &w})
	h := NewHost(log, nil)
	var client string
	ctx := WithClientLog(context.Background(), func(_ abi.LogLevel, _, msg string) { client = msg })
	msg := "first line\n2026-01-01T00:00:00.000Z [ERROR] moat: forged\r\nlast line"
	h.Log(ctx, "p", abi.LogWarn, msg)
	if len(w.w) != 1 || !strings.Contains(w.w[0], "first line") || !strings.Contains(w.w[0], "last line") {
		t.Fatalf("writes %q; want the whole message in one", w.w)
	}
	for _, line := range strings.Split(strings.TrimSuffix(w.w[0], "\n"), "\n")[1:] {
		if !strings.HasPrefix(line, "  | ") {
			t.Errorf("line %q of a plugin's message reads as an entry of its own:\n%s", line, w.w[0])
		}
	}
	if client != msg {
		t.Errorf("the client got %q; want the message as the plugin wrote it", client)
	}
}

func secretsOf(cfg *config.Config) *observe.Secrets {
	s := observe.NewSecrets()
	s.Add(cfg.SecretValues()...)
	return s
}
