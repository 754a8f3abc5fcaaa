package config_test

import (
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/config"
)

func TestHTTPCapsDeriveFromMaxConnections(t *testing.T) {
	c, err := config.Parse([]byte("http: {max_connections: 100}\n"), "test", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	if h.MaxStreams != 50 || h.MaxStreamsPerPrincipal != 6 || h.MaxSessions != config.DefaultMaxSessions || h.MaxSessionsPerPrincipal != config.DefaultMaxSessions/8 {
		t.Fatalf("derived caps: %+v", h)
	}
	if d := (config.HTTP{}).WithDefaults(); d.MaxStreams != config.DefaultMaxConnections/2 || d.MaxBody != config.DefaultMaxBody {
		t.Fatalf("WithDefaults of nothing: %+v", d)
	}
}

func TestHTTPCapsRefusedNameTheKeyAndFix(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"http: {max_streams: -1}", "http.max_streams: -1 is negative"},
		{"http: {max_connections: 10, max_streams: 10}", "http.max_streams: 10 is not below http.max_connections (10)"},
		{"http: {max_streams: 4, max_streams_per_principal: 5}", "http.max_streams_per_principal: 5 is above http.max_streams (4)"},
		{"http: {max_sessions: 4, max_sessions_per_principal: 5}", "http.max_sessions_per_principal: 5 is above http.max_sessions (4)"},
		{"http: {max_sessions_per_principal: -3}", "http.max_sessions_per_principal: -3 is negative; set 1 or more"},
	}
	for _, c := range cases {
		_, err := config.Parse([]byte(c.yaml+"\n"), "test", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.yaml, err, c.want)
		}
	}
}
