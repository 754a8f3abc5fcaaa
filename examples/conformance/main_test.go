package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image/png"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// These tests check the fixtures against what the conformance suite's
// scenarios expect, through the SDK's dispatcher, so that a fixture
// mistake shows here rather than as a conformance failure blamed on moat.
// make conformance checks them again through moat itself.

// handle sends one moat_call request and decodes the result, failing the
// test on a protocol error.
func handle(t *testing.T, method, params string, out any) {
	t.Helper()
	resp := moat.Handle([]byte(`{"method":"` + method + `","params":` + params + `}`))
	var e abi.Response
	if err := json.Unmarshal(resp, &e); err != nil {
		t.Fatalf("%s %s: the answer is not JSON: %v: %s", method, params, err, resp)
	}
	if e.Error != nil {
		t.Fatalf("%s %s: protocol error %d: %s", method, params, e.Error.Code, e.Error.Message)
	}
	if err := json.Unmarshal(resp, out); err != nil {
		t.Fatalf("%s %s: the result does not decode: %v: %s", method, params, err, resp)
	}
}

func TestDescriptionHasEveryFixtureTheSuiteCalls(t *testing.T) {
	d := moat.Describe()
	names := map[string]bool{}
	for _, tool := range d.Tools {
		if tool.Description == "" {
			t.Errorf("tool %s has no description; the suite's tools-list check requires one", tool.Name)
		}
		names[tool.Name] = true
	}
	for _, r := range d.Resources {
		names[r.URI] = true
	}
	for _, r := range d.ResourceTemplates {
		names[r.URITemplate] = true
	}
	for _, p := range d.Prompts {
		names[p.Name] = true
	}
	for _, want := range []string{
		"test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
		"test_multiple_content_types", "test_tool_with_logging", "test_tool_with_progress",
		"test_error_handling", "test_sampling", "test_elicitation", "test_elicitation_sep1034_defaults",
		"test_elicitation_sep1330_enums", "json_schema_2020_12_tool",
		"test://static-text", "test://static-binary", "test://watched-resource", "test://template/{id}/data",
		"test_simple_prompt", "test_prompt_with_arguments", "test_prompt_with_embedded_resource", "test_prompt_with_image",
	} {
		if !names[want] {
			t.Errorf("the plugin does not serve %s", want)
		}
	}
	if !d.Capabilities.Sampling || !d.Capabilities.Elicitation {
		t.Errorf("capabilities = %+v; test_sampling and the elicitation tools need sampling and elicitation", d.Capabilities)
	}
}

func TestToolsAnswerWhatTheSuiteExpects(t *testing.T) {
	call := func(name string) abi.CallToolResult {
		var res abi.CallToolResult
		handle(t, abi.MethodToolsCall, `{"name":"`+name+`","arguments":{}}`, &res)
		return res
	}
	if res := call("test_simple_text"); len(res.Content) != 1 || res.Content[0].Text != "This is a simple text response for testing." {
		t.Errorf("test_simple_text = %+v", res)
	}
	if res := call("test_error_handling"); !res.IsError || len(res.Content) == 0 || res.Content[0].Text == "" {
		t.Errorf("test_error_handling = %+v; want isError with a message", res)
	}

	img := call("test_image_content")
	if len(img.Content) != 1 || img.Content[0].Type != "image" || img.Content[0].MIMEType != "image/png" {
		t.Fatalf("test_image_content = %+v", img)
	}
	raw, err := base64.StdEncoding.DecodeString(img.Content[0].Data)
	if err != nil {
		t.Fatalf("the image is not base64: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("the image is not a PNG: %v", err)
	}

	audio := call("test_audio_content")
	if len(audio.Content) != 1 || audio.Content[0].Type != "audio" || audio.Content[0].MIMEType != "audio/wav" {
		t.Fatalf("test_audio_content = %+v", audio)
	}
	wav, err := base64.StdEncoding.DecodeString(audio.Content[0].Data)
	if err != nil {
		t.Fatalf("the sound is not base64: %v", err)
	}
	// A WAV file's two sizes must agree with its length, or players refuse it.
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:16]) != "WAVEfmt " || string(wav[36:40]) != "data" ||
		int(binary.LittleEndian.Uint32(wav[4:8])) != len(wav)-8 || int(binary.LittleEndian.Uint32(wav[40:44])) != len(wav)-44 {
		t.Errorf("the sound is not a well-formed WAV file (%d bytes)", len(wav))
	}

	mixed := call("test_multiple_content_types")
	var types []string
	for _, c := range mixed.Content {
		types = append(types, c.Type)
	}
	if strings.Join(types, ",") != "text,image,resource" {
		t.Errorf("test_multiple_content_types has blocks %v; want text, image, resource", types)
	}
}

func TestResourcesReadAsTheSuiteExpects(t *testing.T) {
	for _, tc := range []struct {
		uri, mime string
		check     func(abi.ResourceContents) bool
	}{
		{"test://static-text", "text/plain", func(c abi.ResourceContents) bool {
			return c.Text == "This is the content of the static text resource."
		}},
		{"test://static-binary", "image/png", func(c abi.ResourceContents) bool { return c.Blob == pixelPNG }},
		{"test://watched-resource", "text/plain", func(c abi.ResourceContents) bool { return c.Text != "" }},
		{"test://template/123/data", "application/json", func(c abi.ResourceContents) bool {
			return c.Text == `{"data":"Data for ID: 123","id":"123","templateTest":true}`
		}},
	} {
		var res abi.ReadResourceResult
		handle(t, abi.MethodResourcesRead, `{"uri":"`+tc.uri+`"}`, &res)
		if len(res.Contents) != 1 {
			t.Errorf("%s: %d contents; want 1", tc.uri, len(res.Contents))
			continue
		}
		c := res.Contents[0]
		if c.URI != tc.uri || c.MIMEType != tc.mime || !tc.check(c) {
			t.Errorf("%s = %+v", tc.uri, c)
		}
	}
}

func TestPromptsAsTheSuiteExpects(t *testing.T) {
	get := func(params string) abi.GetPromptResult {
		var res abi.GetPromptResult
		handle(t, abi.MethodPromptsGet, params, &res)
		return res
	}
	if res := get(`{"name":"test_simple_prompt"}`); len(res.Messages) != 1 || res.Messages[0].Content.Text != "This is a simple prompt for testing." {
		t.Errorf("test_simple_prompt = %+v", res)
	}
	res := get(`{"name":"test_prompt_with_arguments","arguments":{"arg1":"testValue1","arg2":"testValue2"}}`)
	if len(res.Messages) != 1 || res.Messages[0].Content.Text != "Prompt with arguments: arg1='testValue1', arg2='testValue2'" {
		t.Errorf("test_prompt_with_arguments = %+v", res)
	}
	res = get(`{"name":"test_prompt_with_embedded_resource","arguments":{"resourceUri":"test://example-resource"}}`)
	if len(res.Messages) != 2 || res.Messages[0].Content.Type != "resource" || res.Messages[0].Content.Resource == nil ||
		res.Messages[0].Content.Resource.URI != "test://example-resource" {
		t.Errorf("test_prompt_with_embedded_resource = %+v; want the resource named by resourceUri first", res)
	}
	res = get(`{"name":"test_prompt_with_image"}`)
	if len(res.Messages) != 2 || res.Messages[0].Content.Type != "image" || res.Messages[0].Content.Data == "" || res.Messages[0].Content.MIMEType == "" {
		t.Errorf("test_prompt_with_image = %+v; want an image first", res)
	}
}

func TestCompletionAsTheSuiteExpects(t *testing.T) {
	for _, tc := range []struct{ params, want string }{
		// The suite's completion-complete request.
		{`{"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"test"}}`, "test,testing"},
		{`{"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"par"}}`, "paris,park,party"},
		{`{"ref":{"type":"ref/resource","uri":"test://template/{id}/data"},"argument":{"name":"id","value":"1"}}`, "1,123"},
	} {
		var res struct {
			Completion struct {
				Values []string `json:"values"`
			} `json:"completion"`
		}
		handle(t, abi.MethodComplete, tc.params, &res)
		if got := strings.Join(res.Completion.Values, ","); got != tc.want {
			t.Errorf("completion %s = %q; want %q", tc.params, got, tc.want)
		}
	}
}
