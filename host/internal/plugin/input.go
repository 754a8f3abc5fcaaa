//lint:file-ignore SA1019 MCP deprecates sampling and roots from protocol 2026-07-28 only, within a window of a year; input requests still carry them

package plugin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Round is what a request carries when it comes back with the client's
// answers to an input-required result: the answers as the client sent
// them, and the plugin's own requestState from that result, which the
// host has checked was its own.
type Round struct {
	InputResponses json.RawMessage
	RequestState   string
}

// Bounds of an input-required result a plugin returns.
const (
	MaxInputRequests = 16
	maxInputKey      = 256
)

// checkInputRequests checks the input requests of a plugin's result: a
// method MCP defines for them, the params each needs, and the grant the
// plugin needs to ask it (the same as for moat.sample and moat.elicit).
func (p *Plugin) checkInputRequests(m mcp.InputRequestMap) error {
	if len(m) == 0 {
		return fmt.Errorf(`resultType is "input_required" and inputRequests is empty; ask for at least one input, or return a complete result`)
	}
	if len(m) > MaxInputRequests {
		return fmt.Errorf("it asks for %d inputs at once, more than the %d moat passes on", len(m), MaxInputRequests)
	}
	for key, ir := range m {
		if key == "" || len(key) > maxInputKey {
			return fmt.Errorf("an input request's key is empty or longer than %d bytes", maxInputKey)
		}
		q := quoteClipped(key)
		switch v := ir.(type) {
		case *mcp.ElicitParams:
			if !p.Granted.Elicitation {
				return fmt.Errorf("input request %s asks for elicitation/create, and plugin %q is not granted elicitation; an operator grants it with plugins.%s.grants.elicitation: true", q, p.Name, p.Name)
			}
			if strings.TrimSpace(v.Message) == "" {
				return fmt.Errorf("input request %s: elicitation/create params need a message to show the user", q)
			}
			if v.Mode == "" || v.Mode == "form" {
				if _, ok := v.RequestedSchema.(map[string]any); !ok {
					return fmt.Errorf("input request %s: elicitation/create params in form mode need requestedSchema, a JSON Schema object", q)
				}
			}
		case *mcp.CreateMessageWithToolsParams:
			if !p.Granted.Sampling {
				return fmt.Errorf("input request %s asks for sampling/createMessage, and plugin %q is not granted sampling; an operator grants it with plugins.%s.grants.sampling: true", q, p.Name, p.Name)
			}
			if len(v.Messages) == 0 || v.MaxTokens <= 0 {
				return fmt.Errorf("input request %s: sampling/createMessage params need messages and maxTokens above 0", q)
			}
		case *mcp.CreateMessageParams:
			if !p.Granted.Sampling {
				return fmt.Errorf("input request %s asks for sampling/createMessage, and plugin %q is not granted sampling; an operator grants it with plugins.%s.grants.sampling: true", q, p.Name, p.Name)
			}
			if len(v.Messages) == 0 || v.MaxTokens <= 0 {
				return fmt.Errorf("input request %s: sampling/createMessage params need messages and maxTokens above 0", q)
			}
		case *mcp.ListRootsParams:
		default:
			return fmt.Errorf("input request %s has a method MCP does not define for input requests; use elicitation/create, sampling/createMessage or roots/list", q)
		}
	}
	return nil
}

// roundParams are the members a request coming back with answers adds
// to its params.
type roundParams struct {
	InputResponses json.RawMessage `json:"inputResponses,omitempty"`
	RequestState   string          `json:"requestState,omitempty"`
}

func (r *Round) params() roundParams {
	if r == nil {
		return roundParams{}
	}
	return roundParams{InputResponses: r.InputResponses, RequestState: r.RequestState}
}
