// Command time is a moat plugin that tells the time in any IANA time zone
// and converts times between zones, after the reference MCP time server.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o time.wasm ./plugins/time
package main

import (
	"encoding/json"
	"time"
	_ "time/tzdata" // WASI has no zoneinfo files to read

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

type currentTimeIn struct {
	Timezone string `json:"timezone"`
}

type convertTimeIn struct {
	SourceTimezone string `json:"source_timezone"`
	Time           string `json:"time"`
	TargetTimezone string `json:"target_timezone"`
}

func init() {
	moat.SetInfo(moat.Info{
		Name:        "time",
		Version:     "1.0.0",
		Description: "Current time in any IANA time zone, and conversions between zones.",
	})
	moat.AddTool(moat.ToolDef{
		Name:         "get_current_time",
		Title:        "Get current time",
		Description:  "Get the current date and time in an IANA time zone.",
		InputSchema:  currentTimeInput,
		OutputSchema: timeResultSchema,
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true},
	}, func(_ *moat.Call, in currentTimeIn) (TimeResult, error) {
		return currentTime(in.Timezone, time.Now())
	})
	moat.AddTool(moat.ToolDef{
		Name:         "convert_time",
		Title:        "Convert time",
		Description:  "Convert a time of day today from one IANA time zone to another.",
		InputSchema:  convertTimeInput,
		OutputSchema: conversionSchema,
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true},
	}, func(_ *moat.Call, in convertTimeIn) (ConversionResult, error) {
		return convertTime(in.SourceTimezone, in.Time, in.TargetTimezone, time.Now())
	})
}

// main is never called in a reactor; the tools are registered by init.
func main() {}

var currentTimeInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"timezone": {"type": "string", "description": "IANA time zone name, such as America/New_York or Europe/London. Use UTC if the user named none."}
	},
	"required": ["timezone"],
	"additionalProperties": false
}`)

var convertTimeInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"source_timezone": {"type": "string", "description": "IANA time zone name of the time given, such as America/New_York. Use UTC if the user named none."},
		"time": {"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$", "description": "Time of day to convert, 24-hour HH:MM, such as 14:30; the date is today in the source time zone."},
		"target_timezone": {"type": "string", "description": "IANA time zone name to convert to, such as Asia/Tokyo. Use UTC if the user named none."}
	},
	"required": ["source_timezone", "time", "target_timezone"],
	"additionalProperties": false
}`)

// timeProperties is the schema of a TimeResult, used alone and nested.
const timeProperties = `{
	"type": "object",
	"properties": {
		"timezone": {"type": "string", "description": "The IANA time zone name."},
		"datetime": {"type": "string", "format": "date-time", "description": "Date and time in RFC 3339, with the zone's UTC offset."},
		"day_of_week": {"type": "string", "description": "English name of the day, such as Monday."},
		"is_dst": {"type": "boolean", "description": "Whether daylight saving time is in effect."}
	},
	"required": ["timezone", "datetime", "day_of_week", "is_dst"]
}`

var timeResultSchema = json.RawMessage(timeProperties)

var conversionSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"source": ` + timeProperties + `,
		"target": ` + timeProperties + `,
		"time_difference": {"type": "string", "description": "Target UTC offset minus source UTC offset in hours, such as +5.5h or -8.0h."}
	},
	"required": ["source", "target", "time_difference"]
}`)
