//lint:file-ignore SA1019 MCP deprecates sampling from protocol 2026-07-28 only; ABI v1 serves it to the clients before, which still declare it

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sessionlessVersion is the first protocol version whose requests carry no
// session: its clients answer sampling and elicitation only inside the
// result of the call (SEP-2322), which ABI v1's blocking imports cannot use.
const sessionlessVersion = "2026-07-28"

// clientRequest sends a plugin's sample and elicit requests to the client
// of session. The params are scrubbed of secrets first, as the plugin's
// logs are: what reaches a client never carries a configured secret.
func clientRequest(session *mcp.ServerSession, secrets *observe.Secrets) plugin.ClientRequest {
	return func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
		caps, err := clientCapabilities(session, method)
		if err != nil {
			return nil, err
		}
		if secrets != nil {
			params = secrets.ScrubJSON(params)
		}
		switch method {
		case plugin.MethodCreateMessage:
			return createMessage(ctx, session, caps, params)
		case plugin.MethodElicit:
			return elicit(ctx, session, caps, params)
		}
		return nil, &capability.Error{Errno: abi.EUNSUPPORTED, Msg: fmt.Sprintf("moat does not send %s to clients", method)}
	}
}

// clientCapabilities are what the client declared at initialize, if it can
// be sent method at all.
func clientCapabilities(session *mcp.ServerSession, method string) (*mcp.ClientCapabilities, error) {
	init := session.InitializeParams()
	if init == nil {
		return nil, unsupported("the client has not initialized its session, so it cannot be sent %s", method)
	}
	if init.ProtocolVersion >= sessionlessVersion {
		return nil, unsupported("the client speaks MCP %s, whose requests have no session to send %s back on; a client that connects with protocol version 2025-11-25 can answer it", init.ProtocolVersion, method)
	}
	if init.Capabilities == nil {
		return nil, unsupported("the client declared no capabilities at initialize, so it cannot answer %s", method)
	}
	return init.Capabilities, nil
}

func createMessage(ctx context.Context, session *mcp.ServerSession, caps *mcp.ClientCapabilities, params json.RawMessage) (json.RawMessage, error) {
	if caps.Sampling == nil {
		return nil, unsupported("the client did not declare the sampling capability at initialize, so it cannot answer %s", plugin.MethodCreateMessage)
	}
	var p mcp.CreateMessageWithToolsParams
	if err := decodeParams(params, &p, plugin.MethodCreateMessage); err != nil {
		return nil, err
	}
	if len(p.Messages) == 0 {
		return nil, invalid("%s params need at least one entry in messages", plugin.MethodCreateMessage)
	}
	if p.MaxTokens <= 0 {
		return nil, invalid("%s params need maxTokens, a number above 0", plugin.MethodCreateMessage)
	}
	if len(p.Tools) > 0 && caps.Sampling.Tools == nil {
		return nil, unsupported("the client did not declare sampling.tools at initialize, so it cannot be sent tools in %s; leave tools out", plugin.MethodCreateMessage)
	}
	// CreateMessageWithTools takes both shapes of a message's content,
	// one block or an array, and hands back whichever the client sent.
	res, err := session.CreateMessageWithTools(ctx, &p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

func elicit(ctx context.Context, session *mcp.ServerSession, caps *mcp.ClientCapabilities, params json.RawMessage) (json.RawMessage, error) {
	e := caps.Elicitation
	if e == nil {
		return nil, unsupported("the client did not declare the elicitation capability at initialize, so it cannot answer %s", plugin.MethodElicit)
	}
	var p mcp.ElicitParams
	if err := decodeParams(params, &p, plugin.MethodElicit); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Message) == "" {
		return nil, invalid("%s params need a message to show the user", plugin.MethodElicit)
	}
	mode := p.Mode
	if mode == "" && (p.URL != "" || p.ElicitationID != "") {
		mode = "url"
	}
	switch mode {
	case "", "form":
		if _, ok := p.RequestedSchema.(map[string]any); !ok {
			return nil, invalid(`%s params in form mode need requestedSchema, a JSON Schema object such as {"type":"object","properties":{...}}`, plugin.MethodElicit)
		}
		// A client that declared elicitation as {} predates the modes and
		// takes forms; one that declared only url does not.
		if e.Form == nil && e.URL != nil {
			return nil, unsupported("the client declared only url elicitation at initialize, so it cannot be sent a form")
		}
	case "url":
		if p.URL == "" || p.ElicitationID == "" {
			return nil, invalid("%s params in url mode need url and elicitationId", plugin.MethodElicit)
		}
		if e.URL == nil {
			return nil, unsupported("the client did not declare url elicitation at initialize, so it cannot be sent a URL to open")
		}
	default:
		return nil, invalid(`%s params have mode %q; use "form" or "url"`, plugin.MethodElicit, p.Mode)
	}
	res, err := session.Elicit(ctx, &p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// decodeParams reads the plugin's params as the method's; what does not
// fit is the plugin's -EINVAL.
func decodeParams(params json.RawMessage, v any, method string) error {
	if err := json.Unmarshal(params, v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return invalid("%s params are not valid JSON: %v", method, err)
		}
		return invalid("%s params do not have the shape MCP gives them: %v", method, err)
	}
	return nil
}

func unsupported(format string, args ...any) error {
	return &capability.Error{Errno: abi.EUNSUPPORTED, Msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &capability.Error{Errno: abi.EINVAL, Msg: fmt.Sprintf(format, args...)}
}
