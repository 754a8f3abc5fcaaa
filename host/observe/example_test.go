package observe_test

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/moat-mcp/moat/host/observe"
)

func ExampleSecrets() {
	secrets := observe.NewSecrets()
	secrets.Add("sk-live-4f9a", `pa"ss`)
	// For one request: the caller's own token is a secret too.
	request := secrets.WithExtra("caller-bearer-token")

	fmt.Println(request.Scrub("upstream refused sk-live-4f9a for caller-bearer-token"))
	fmt.Printf("%s\n", request.ScrubJSON([]byte(`{"password":"pa\"ss","note":"ok"}`)))
	// Output:
	// upstream refused [redacted] for [redacted]
	// {"password":"[redacted]","note":"ok"}
}

func ExampleAudit() {
	audit := observe.NewAudit(os.Stdout, observe.AuditOptions{IncludeArguments: true})
	secrets := observe.NewSecrets()
	secrets.Add("sk-live-4f9a")
	audit.SetScrubber(secrets)

	audit.Record(observe.Record{
		Time:       time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC),
		Principal:  "alice",
		Transport:  "http",
		Method:     "tools/call",
		Tool:       "weather_forecast",
		Plugin:     "weather",
		Outcome:    "ok",
		DurationMS: 12.5,
		Remote:     "127.0.0.1:50312",
	}, json.RawMessage(`{"city": "Paris", "key": "sk-live-4f9a"}`))
	audit.Record(observe.Record{
		Time:      time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Principal: "anonymous",
		Transport: "http",
		Method:    "tools/call",
		Outcome:   "unauthenticated",
		Reason:    "invalid_token",
	}, nil)
	audit.Close() // flushes both lines
	// Output:
	// {"time":"2026-01-02T03:04:05.678Z","principal":"alice","transport":"http","method":"tools/call","tool":"weather_forecast","plugin":"weather","outcome":"ok","duration_ms":12.5,"args_sha256":"a03a22a009e974327505bfa2c8508baf20dd14d5000d480e05143f9132a8c419","arguments":{"city":"Paris","key":"[redacted]"},"remote":"127.0.0.1:50312"}
	// {"time":"2026-01-02T03:04:06.000Z","principal":"anonymous","transport":"http","method":"tools/call","outcome":"unauthenticated","reason":"invalid_token","duration_ms":0}
}
