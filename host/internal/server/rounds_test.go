//lint:file-ignore SA1019 MCP deprecates sampling and roots from protocol 2026-07-28 only, within a window of a year; input requests still carry them

package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestRequestStateIsBoundToItsRequest(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	key := NewStateKey([]byte("0123456789abcdef0123456789abcdef"), time.Minute)
	key.now = func() time.Time { return now }
	args := argumentsDigest(json.RawMessage(`{"b": 1, "a": [1, 2.50]}`))
	st := &roundState{Principal: "ada", Method: "tools/call", Name: "x_ask", Args: args,
		Answers: []answer{{Method: "elicitation/create", Result: json.RawMessage(`{"action":"accept"}`)}}, Pending: "moat-2", Asked: "sampling/createMessage"}
	signed, err := key.sign(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := key.open(signed, "ada", "tools/call", "x_ask", argumentsDigest(json.RawMessage(`{"a":[1,2.50],"b":1}`)))
	if err != nil {
		t.Fatalf("the state moat wrote, with the arguments respaced and reordered: %v", err)
	}
	if len(got.Answers) != 1 || got.Pending != "moat-2" || got.Asked != "sampling/createMessage" {
		t.Fatalf("opened %+v; want what was signed", got)
	}

	other := NewStateKey([]byte("fedcba9876543210fedcba9876543210"), time.Minute)
	cases := map[string]func() error{
		"altered": func() error {
			b := []byte(signed)
			b[5] ^= 1
			_, err := key.open(string(b), "ada", "tools/call", "x_ask", args)
			return err
		},
		"another key": func() error { _, err := other.open(signed, "ada", "tools/call", "x_ask", args); return err },
		"another principal": func() error {
			_, err := key.open(signed, "bob", "tools/call", "x_ask", args)
			return err
		},
		"other arguments": func() error {
			_, err := key.open(signed, "ada", "tools/call", "x_ask", argumentsDigest(json.RawMessage(`{"b":2}`)))
			return err
		},
		"another tool": func() error { _, err := key.open(signed, "ada", "tools/call", "x_other", args); return err },
		"expired": func() error {
			later := NewStateKey([]byte("0123456789abcdef0123456789abcdef"), time.Minute)
			later.now = func() time.Time { return now.Add(2 * time.Minute) }
			_, err := later.open(signed, "ada", "tools/call", "x_ask", args)
			return err
		},
		"not moat's form": func() error { _, err := key.open("hello", "ada", "tools/call", "x_ask", args); return err },
		"too long": func() error {
			_, err := key.open(strings.Repeat("a", MaxRequestState+1), "ada", "tools/call", "x_ask", args)
			return err
		},
	}
	for name, try := range cases {
		if err := try(); !errors.Is(err, errStateRefused) {
			t.Errorf("%s: %v; want the state refused", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestRequestStateWithoutAKeyIsRefused(t *testing.T) {
	var key *StateKey
	if _, err := key.sign(&roundState{}); err == nil {
		t.Fatal("signed without a key")
	}
	if _, err := key.open("a.b", "", "", "", ""); !errors.Is(err, errStateRefused) {
		t.Fatalf("opened without a key: %v", err)
	}
}

// A request the client did not declare it can answer is refused with
// MCP's MissingRequiredClientCapability error, naming the capability in
// its data; a client that declared nothing is not checked.
func TestAnswerableNamesTheMissingCapability(t *testing.T) {
	requests := mcp.InputRequestMap{
		"q": &mcp.CreateMessageWithToolsParams{MaxTokens: 5},
		"n": &mcp.ElicitParams{Message: "Who?"},
	}
	err := answerable(&mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}}}, requests)
	var rpc *jsonrpc.Error
	if !errors.As(err, &rpc) || rpc.Code != mcp.CodeMissingRequiredClientCapabilities {
		t.Fatalf("answerable = %v; want error %d", err, mcp.CodeMissingRequiredClientCapabilities)
	}
	var data struct {
		Required map[string]json.RawMessage `json:"requiredCapabilities"`
	}
	if json.Unmarshal(rpc.Data, &data) != nil || len(data.Required) != 1 || data.Required["sampling"] == nil {
		t.Fatalf("data %s; want requiredCapabilities naming sampling only", rpc.Data)
	}
	if err := answerable(nil, requests); err != nil {
		t.Fatalf("a client that declared nothing: %v", err)
	}
	all := &mcp.ClientCapabilities{Sampling: &mcp.SamplingCapabilities{}, Elicitation: &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}}}
	if err := answerable(all, requests); err != nil {
		t.Fatalf("a client that declared both: %v", err)
	}
}
