// Command hello is the hello plugin of examples/HELLO.md, written with the
// Go SDK. Build it with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm .
package main

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

type greetIn struct {
	Name string `json:"name"`
}

type statsIn struct {
	Text string `json:"text"`
}

// statsOut is the structured result of stats; the field order is the key
// order every language writes.
type statsOut struct {
	Words int `json:"words"`
	Lines int `json:"lines"`
	Chars int `json:"chars"`
}

func init() {
	moat.SetInfo(moat.Info{Name: "hello", Version: "1.0.0", Description: "Greets people and counts text."})
	readOnly := &abi.ToolAnnotations{ReadOnlyHint: true}
	moat.AddTextTool(moat.ToolDef{
		Name:        "greet",
		Description: "Greets someone by name.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","description":"Who to greet."}},"required":["name"]}`),
		Annotations: readOnly,
	}, func(_ *moat.Call, in greetIn) (string, error) {
		moat.LogInfo("greet called")
		moat.Progress(1, 1, "done")
		if in.Name == "" {
			return "", errors.New("name is empty: pass the name of the person to greet")
		}
		return "Hello, " + in.Name + "!", nil
	})
	moat.AddTool(moat.ToolDef{
		Name:         "stats",
		Description:  "Counts the words, lines and characters of a text.",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","description":"The text to count."}},"required":["text"]}`),
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"words":{"type":"integer"},"lines":{"type":"integer"},"chars":{"type":"integer"}},"required":["words","lines","chars"]}`),
		Annotations:  readOnly,
	}, func(_ *moat.Call, in statsIn) (statsOut, error) {
		moat.LogInfo("stats called")
		moat.Progress(1, 1, "done")
		return count(in.Text), nil
	})

	moat.AddResource(moat.ResourceDef{
		URI: "hello://greeting", Name: "greeting", Description: "A greeting from the plugin.", MIMEType: "text/plain",
	}, func(string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Text: "Hello from moat!"}}, nil
	})
	const personal = "hello://greeting/{name}"
	moat.AddResourceTemplate(moat.ResourceTemplateDef{
		URITemplate: personal, Name: "personal-greeting", Description: "A greeting for the person named in the URI.", MIMEType: "text/plain",
	}, func(_ string, vars map[string]string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Text: "Hello, " + vars["name"] + "!"}}, nil
	})
	moat.AddPrompt(moat.PromptDef{
		Name:        "greet_prompt",
		Description: "Asks the model to greet someone warmly.",
		Arguments:   []abi.PromptArgument{{Name: "name", Description: "Who to greet.", Required: true}},
	}, func(args map[string]string) (*abi.GetPromptResult, error) {
		return &abi.GetPromptResult{Messages: []abi.PromptMessage{moat.UserMessage("Please greet " + args["name"] + " warmly.")}}, nil
	})
	moat.AddPromptCompletion("greet_prompt", "name", people)
	moat.AddResourceCompletion(personal, "name", people)
}

// people completes a name from a fixed list, keeping those that start with
// what was typed.
func people(value string, _ map[string]string) []string {
	out := []string{}
	for _, name := range []string{"Ada", "Alan", "Grace", "Linus"} {
		if strings.HasPrefix(name, value) {
			out = append(out, name)
		}
	}
	return out
}

// count counts as HELLO.md says: words are runs of anything but space,
// tab, newline and carriage return; a last line without a newline counts.
func count(text string) statsOut {
	lines := strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		lines++
	}
	words := len(strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }))
	return statsOut{Words: words, Lines: lines, Chars: utf8.RuneCountInString(text)}
}

func main() {}
