package server_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/internal/server"
	"github.com/moat-mcp/moat/host/observe"
)

// Label values come from names plugins describe; one that holds a secret
// is served as [redacted] on /metrics, which anyone who reaches the admin
// port can read.
func TestMetricsLabelsAreScrubbed(t *testing.T) {
	const secret = "tok-91xQ-secret"
	metrics := observe.NewMetrics("test", nil, nil)
	metrics.ObserveToolCall("p", "p_"+secret, "ok", 0.01)
	metrics.Fault("p", "trap")
	secrets := observe.NewSecrets()
	secrets.Add(secret)
	admin := server.NewAdmin(metrics, "test", hclog.NewNullLogger())
	admin.SetScrubber(secrets)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := admin.ServeAdmin(ln)
	defer stop()

	// Scrapes at once, and one after another: each is redacted, and
	// none changes the metrics the next one reads (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				scrape(t, "http://"+ln.Addr().String()+"/metrics", secret)
			}
		}()
	}
	wg.Wait()
	metrics.ObserveToolCall("p", "p_"+secret, "ok", 0.01)
	if text := scrape(t, "http://"+ln.Addr().String()+"/metrics", secret); !strings.Contains(text, `tool="p_[redacted]"} 2`) {
		t.Errorf("the series lost its count after scrapes:\n%s", text)
	}
}

// scrape reads /metrics and checks it shows no secret.
func scrape(t *testing.T, url, secret string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	if strings.Contains(text, secret) {
		t.Errorf("/metrics shows the secret:\n%s", text)
	}
	for _, want := range []string{`moat_tool_calls_total{outcome="ok",plugin="p",tool="p_[redacted]"}`, `moat_plugin_faults_total{kind="trap",plugin="p"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	return text
}
