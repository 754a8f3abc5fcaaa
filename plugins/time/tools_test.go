package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// summer is an instant in July, when Paris and New York keep summer time.
var summer = time.Date(2025, 7, 14, 10, 30, 15, 500, time.UTC)

func TestCurrentTime(t *testing.T) {
	got, err := currentTime("Europe/Paris", summer)
	want := TimeResult{Timezone: "Europe/Paris", Datetime: "2025-07-14T12:30:15+02:00", DayOfWeek: "Monday", IsDST: true}
	if err != nil || got != want {
		t.Fatalf("currentTime = %+v, %v; want %+v", got, err, want)
	}
	got, _ = currentTime("UTC", summer)
	if got.Datetime != "2025-07-14T10:30:15+00:00" || got.IsDST {
		t.Errorf("UTC: %+v", got)
	}
}

func TestConvertTime(t *testing.T) {
	got, err := convertTime("America/New_York", "16:30", "Asia/Kolkata", summer)
	if err != nil {
		t.Fatal(err)
	}
	want := ConversionResult{
		Source:         TimeResult{"America/New_York", "2025-07-14T16:30:00-04:00", "Monday", true},
		Target:         TimeResult{"Asia/Kolkata", "2025-07-15T02:00:00+05:30", "Tuesday", false},
		TimeDifference: "+9.5h",
	}
	if got != want {
		t.Fatalf("convertTime = %+v; want %+v", got, want)
	}
	// "Today" is the date in the source zone: 10:30 UTC is already the
	// 15th in Kiritimati (UTC+14).
	got, _ = convertTime("Pacific/Kiritimati", "00:15", "UTC", summer)
	if got.Source.Datetime != "2025-07-15T00:15:00+14:00" || got.Target.Datetime != "2025-07-14T10:15:00+00:00" || got.TimeDifference != "-14.0h" {
		t.Errorf("Kiritimati: %+v", got)
	}
}

func TestHoursDiff(t *testing.T) {
	for secs, want := range map[int]string{0: "+0.0h", 3600: "+1.0h", -5 * 3600: "-5.0h", 19800: "+5.5h", 20700: "+5.75h", -34200: "-9.5h"} {
		if got := hoursDiff(secs); got != want {
			t.Errorf("hoursDiff(%d) = %q, want %q", secs, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct{ src, hhmm, dst, want string }{
		{"Mars/Base", "10:00", "UTC", `unknown time zone "Mars/Base": use an IANA name such as Europe/Paris`},
		{"UTC", "10:00", "", "no time zone given"},
		{"UTC", "25:00", "UTC", `invalid time "25:00": use 24-hour HH:MM, such as 14:30`},
		{"UTC", "10am", "UTC", `invalid time "10am"`},
		{"Local", "10:00", "UTC", `unknown time zone "Local"`},
	} {
		_, err := convertTime(c.src, c.hhmm, c.dst, summer)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("convertTime(%q, %q, %q): %v, want %q", c.src, c.hhmm, c.dst, err, c.want)
		}
	}
}

// The tools as registered: described with valid schemas, and answering
// through the SDK's dispatch.
func TestRegisteredTools(t *testing.T) {
	d := moat.Describe()
	if d.Name != "time" || len(d.Tools) != 2 || d.Tools[0].Name != "get_current_time" || d.Tools[1].Name != "convert_time" {
		t.Fatalf("description: %+v", d)
	}
	for _, tool := range d.Tools {
		for _, s := range []json.RawMessage{tool.InputSchema, tool.OutputSchema} {
			if !json.Valid(s) {
				t.Errorf("%s: invalid schema %s", tool.Name, s)
			}
		}
		if !tool.Annotations.ReadOnlyHint {
			t.Errorf("%s is not read-only", tool.Name)
		}
	}
	if !d.Tools[1].Annotations.IdempotentHint {
		t.Error("convert_time is not idempotent")
	}

	var res abi.CallToolResult
	out := moat.Handle([]byte(`{"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"Asia/Tokyo"}}}`))
	if err := json.Unmarshal(out, &res); err != nil || res.IsError {
		t.Fatalf("get_current_time: %s", out)
	}
	var now TimeResult
	if err := json.Unmarshal(res.StructuredContent, &now); err != nil || !strings.HasSuffix(now.Datetime, "+09:00") {
		t.Fatalf("get_current_time: %s", out)
	}

	out = moat.Handle([]byte(`{"method":"tools/call","params":{"name":"convert_time","arguments":{"source_timezone":"Mars/Base","time":"10:00","target_timezone":"UTC"}}}`))
	res = abi.CallToolResult{}
	if err := json.Unmarshal(out, &res); err != nil || !res.IsError || !strings.Contains(res.Content[0].Text, "Mars/Base") {
		t.Fatalf("convert_time from Mars: %s", out)
	}
}
