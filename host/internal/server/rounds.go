//lint:file-ignore SA1019 MCP deprecates sampling and roots from protocol 2026-07-28 only, within a window of a year; input requests still carry them

package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Input-required rounds (MCP 2026-07-28, SEP-2322). A request of that
// protocol has no session for moat to send sampling or elicitation on;
// instead the call ends with the requests in its result, and the client
// sends the call again with the answers. moat keeps nothing between the
// rounds: the call is run again from the start, and every sample or elicit
// the plugin makes is answered, in order, from the answers carried in the
// signed requestState, until the plugin asks for one more. Any replica that
// has the key serves any round.

// MaxRequestState bounds the requestState moat writes and reads: the
// answers of every round so far travel in it.
const MaxRequestState = 256 << 10

// DefaultStateTTL is how long a requestState is honoured after moat
// wrote it.
const DefaultStateTTL = 10 * time.Minute

// StateKey signs and checks requestState. Nil refuses every state.
type StateKey struct {
	load func() ([]byte, error)
	once sync.Once
	key  []byte
	err  error
	ttl  time.Duration
	now  func() time.Time
}

// NewStateKey is a key for HMAC-SHA256 over requestState; ttl <= 0 means
// DefaultStateTTL.
func NewStateKey(key []byte, ttl time.Duration) *StateKey {
	key = bytes.Clone(key)
	return NewLazyStateKey(func() ([]byte, error) { return key, nil }, ttl)
}

// NewLazyStateKey is a StateKey whose key load gives on first use, such
// as one kept in a file created then: a moat whose plugins never ask for
// input needs none.
func NewLazyStateKey(load func() ([]byte, error), ttl time.Duration) *StateKey {
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	return &StateKey{load: load, ttl: ttl, now: time.Now}
}

// secret is the key, loaded on first use.
func (k *StateKey) secret() ([]byte, error) {
	if k == nil {
		return nil, errors.New("this moat has no key for requestState (request_state.key)")
	}
	k.once.Do(func() {
		k.key, k.err = k.load()
		if k.err == nil && len(k.key) == 0 {
			k.err = errors.New("the requestState key is empty (request_state.key)")
		}
	})
	return k.key, k.err
}

// roundState is what a requestState carries: who may use it, for which
// request, and the answers so far.
type roundState struct {
	Version   int      `json:"v"`
	Principal string   `json:"p"`
	Method    string   `json:"m"`
	Name      string   `json:"n"`
	Args      string   `json:"a"` // SHA-256 of the canonical arguments
	Answers   []answer `json:"r"`
	Pending   string   `json:"k,omitempty"` // the input request's key awaiting its answer
	Asked     string   `json:"q,omitempty"` // and its method
	Plugin    string   `json:"s,omitempty"` // the plugin's own requestState
	Expires   int64    `json:"x"`           // Unix seconds
}

// answer is one sample or elicit answered by the client.
type answer struct {
	Method string          `json:"m"`
	Result json.RawMessage `json:"b"`
}

// errStateRefused is a requestState moat did not write for this request.
var errStateRefused = errors.New("refused")

func (k *StateKey) sign(st *roundState) (string, error) {
	key, err := k.secret()
	if err != nil {
		return "", err
	}
	st.Version = 1
	st.Expires = k.now().Add(k.ttl).Unix()
	payload, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	s := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if len(s) > MaxRequestState {
		return "", fmt.Errorf("the answers so far take %d bytes, over the %d a requestState may carry", len(s), MaxRequestState)
	}
	return s, nil
}

// open checks a requestState and returns what it carries if moat wrote it,
// for this principal and request, and it has not expired.
func (k *StateKey) open(s, principal, method, name, args string) (*roundState, error) {
	key, err := k.secret()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStateRefused, err)
	}
	if len(s) > MaxRequestState {
		return nil, fmt.Errorf("%w: it is longer than %d bytes", errStateRefused, MaxRequestState)
	}
	p, m, ok := strings.Cut(s, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sum, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: it is not in moat's form", errStateRefused)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return nil, fmt.Errorf("%w: its signature does not match (altered, or signed with another key)", errStateRefused)
	}
	var st roundState
	if err := json.Unmarshal(payload, &st); err != nil || st.Version != 1 {
		return nil, fmt.Errorf("%w: it does not decode", errStateRefused)
	}
	switch {
	case k.now().Unix() > st.Expires:
		return nil, fmt.Errorf("%w: it expired at %s", errStateRefused, time.Unix(st.Expires, 0).UTC().Format(time.RFC3339))
	case st.Principal != principal:
		return nil, fmt.Errorf("%w: it was issued to another principal", errStateRefused)
	case st.Method != method || st.Name != name || st.Args != args:
		return nil, fmt.Errorf("%w: it was issued for another request (method, name or arguments differ)", errStateRefused)
	}
	return &st, nil
}

// argumentsDigest is the SHA-256 of the arguments in a canonical form, so
// that a client that writes them again with other spacing or key order
// still matches.
func argumentsDigest(raw json.RawMessage) string {
	canonical := raw
	if len(bytes.TrimSpace(raw)) > 0 {
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				canonical = b
			}
		}
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// errInputRequired ends a plugin's run when it asks for an input the
// client has not given yet.
var errInputRequired = errors.New("the call needs input from the client")

// rounds answers the plugin's sample and elicit from the answers so far,
// and ends the run at the first it has no answer for.
type rounds struct {
	caps    *mcp.ClientCapabilities // what the client declared, if it said
	answers []answer
	next    int
	secrets *observe.Secrets
	end     context.CancelCauseFunc

	asked       string          // the method of the request beyond the answers
	askedParams json.RawMessage // and its params
}

func (r *rounds) request(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	i := r.next
	r.next++
	if i < len(r.answers) {
		if a := r.answers[i]; a.Method != method {
			return nil, &capability.Error{Errno: abi.EIO, Msg: fmt.Sprintf("request %d of this call is %s, where the plugin's earlier run asked %s: a plugin run again for input must ask in the same order", i+1, method, a.Method)}
		} else {
			return a.Result, nil
		}
	}
	if r.secrets != nil {
		params = r.secrets.ScrubJSON(params)
	}
	ir, err := inputRequest(method, params)
	if err != nil {
		return nil, err
	}
	if err := answerable(r.caps, mcp.InputRequestMap{"": ir}); err != nil {
		// The plugin may do without: it gets EUNSUPPORTED, as a plugin
		// called over a session whose client cannot answer does.
		return nil, unsupported("%s", err.(*jsonrpc.Error).Message)
	}
	if r.asked == "" {
		r.asked, r.askedParams = method, params
		r.end(errInputRequired)
	}
	return nil, &capability.Error{Errno: abi.ECANCELED, Msg: "the call ends here; the client answers, and the call runs again with the answer"}
}

// inputRequest is a plugin's params as the input request of its method,
// checked as they are before they go to a client over a session.
func inputRequest(method string, params json.RawMessage) (mcp.InputRequest, error) {
	switch method {
	case plugin.MethodCreateMessage:
		var p mcp.CreateMessageParams
		if err := decodeParams(params, &p, method); err != nil {
			return nil, err
		}
		if len(p.Messages) == 0 {
			return nil, invalid("%s params need at least one entry in messages", method)
		}
		if p.MaxTokens <= 0 {
			return nil, invalid("%s params need maxTokens, a number above 0", method)
		}
		return &p, nil
	case plugin.MethodElicit:
		var p mcp.ElicitParams
		if err := decodeParams(params, &p, method); err != nil {
			return nil, err
		}
		if strings.TrimSpace(p.Message) == "" {
			return nil, invalid("%s params need a message to show the user", method)
		}
		if p.Mode == "" || p.Mode == "form" {
			if _, ok := p.RequestedSchema.(map[string]any); !ok {
				return nil, invalid(`%s params in form mode need requestedSchema, a JSON Schema object such as {"type":"object","properties":{...}}`, method)
			}
		}
		return &p, nil
	}
	return nil, unsupported("moat does not send %s to clients", method)
}

// sessionless reports whether a call came without a session moat could
// send requests back on: protocol 2026-07-28 and later.
func sessionless(session *mcp.ServerSession) bool {
	if session == nil {
		return true
	}
	init := session.InitializeParams()
	return init == nil || init.ProtocolVersion >= sessionlessVersion
}

// openRound checks the requestState a request came back with, if any:
// nil when it carries none. A state moat did not issue for this principal
// and request is the client's error.
func openRound(key *StateKey, principal, method, name, args, state string) (*roundState, error) {
	if state == "" {
		return nil, nil
	}
	st, err := key.open(state, principal, method, name, args)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("requestState %v; call again without requestState and inputResponses to start over", err)}
	}
	return st, nil
}

// pluginRound is what the plugin gets of a request that came back with
// answers: the client's answers as it sent them, and the plugin's own
// state from the verified requestState. Nil when there are neither.
func pluginRound(st *roundState, responses mcp.InputResponseMap) (*plugin.Round, error) {
	if st == nil && len(responses) == 0 {
		return nil, nil
	}
	r := &plugin.Round{}
	if st != nil {
		r.RequestState = st.Plugin
	}
	if len(responses) > 0 {
		b, err := json.Marshal(responses)
		if err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("inputResponses do not encode: %v", err)}
		}
		r.InputResponses = b
	}
	return r, nil
}

// replay is the rounds that answer a plugin's blocking sample and elicit
// on this run: the answers the state carries, and the client's answer to
// the one it awaited, if the client sent it. Without that answer the
// plugin asks for it again, which ends the round with the same request.
func replay(st *roundState, responses mcp.InputResponseMap) *rounds {
	r := &rounds{}
	if st == nil {
		return r
	}
	r.answers = st.Answers
	if resp, ok := responses[st.Pending]; st.Pending != "" && ok && resp != nil {
		if b, err := json.Marshal(resp); err == nil {
			r.answers = append(slices.Clip(st.Answers), answer{Method: st.Asked, Result: b})
		}
	}
	return r
}

// seal signs the state of a result that asks for input: the answers the
// plugin's blocking requests have had, and the plugin's own state.
func seal(key *StateKey, principal, method, name, args string, answers []answer, pluginState string) (string, error) {
	return key.sign(&roundState{Principal: principal, Method: method, Name: name, Args: args, Answers: answers, Plugin: pluginState})
}

// inputRequired is the result that ends a round: the plugin's request,
// and the state to send back with the answer.
func inputRequired(key *StateKey, r *rounds, principal, method, name, args string) (*mcp.CallToolResult, error) {
	ir, err := inputRequest(r.asked, r.askedParams)
	if err != nil {
		return nil, err
	}
	pending := fmt.Sprintf("moat-%d", len(r.answers)+1)
	state, err := key.sign(&roundState{Principal: principal, Method: method, Name: name, Args: args,
		Answers: r.answers, Pending: pending, Asked: r.asked})
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{pending: ir}, RequestState: state}, nil
}

// answerable checks that a client that declared caps can answer every
// request: elicitation and sampling need the capability of that name
// (form or URL elicitation the mode), roots/list needs roots. A client
// that declared nothing at all is not checked: it may predate the field.
// The error is MCP's MissingRequiredClientCapability, naming in its data
// the capabilities missing.
func answerable(caps *mcp.ClientCapabilities, requests mcp.InputRequestMap) error {
	if caps == nil {
		return nil
	}
	required := map[string]any{}
	var names []string
	need := func(name string, capability any, what string) {
		if _, seen := required[name]; !seen {
			names = append(names, what)
		}
		required[name] = capability
	}
	for _, ir := range requests {
		switch v := ir.(type) {
		case *mcp.ElicitParams:
			switch e := caps.Elicitation; {
			case e == nil:
				need("elicitation", map[string]any{}, "elicitation")
			case v.Mode == "url" && e.URL == nil:
				need("elicitation", map[string]any{"url": map[string]any{}}, "url elicitation")
			case v.Mode != "url" && e.Form == nil && e.URL != nil:
				need("elicitation", map[string]any{"form": map[string]any{}}, "form elicitation")
			}
		case *mcp.CreateMessageParams, *mcp.CreateMessageWithToolsParams:
			if caps.Sampling == nil {
				need("sampling", map[string]any{}, "sampling")
			}
		case *mcp.ListRootsParams:
			if caps.RootsV2 == nil {
				need("roots", map[string]any{}, "roots")
			}
		}
	}
	if len(required) == 0 {
		return nil
	}
	slices.Sort(names)
	data, _ := json.Marshal(map[string]any{"requiredCapabilities": required})
	return &jsonrpc.Error{Code: mcp.CodeMissingRequiredClientCapabilities, Data: data,
		Message: fmt.Sprintf("the request needs the client capabilities %s, which the client did not declare in _meta %q", strings.Join(names, ", "), mcp.MetaKeyClientCapabilities)}
}

// metaPassed are the members of a request's _meta a plugin gets beside
// the progress token: the client's capabilities, so that it asks only for
// the input the client can give, and the W3C trace context.
var metaPassed = []string{mcp.MetaKeyClientCapabilities, "traceparent", "tracestate"}

// pluginMeta is the part of a request's _meta passed to the plugin; nil
// if there is none.
func pluginMeta(m mcp.Meta) map[string]any {
	var out map[string]any
	for _, k := range metaPassed {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]any, len(metaPassed)+1)
			}
			out[k] = v
		}
	}
	return out
}
