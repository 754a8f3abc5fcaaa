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
	Pending   string   `json:"k"` // the input request's key awaiting its answer
	Asked     string   `json:"q"` // and its method
	Expires   int64    `json:"x"` // Unix seconds
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
	if _, err := inputRequest(method, params); err != nil {
		return nil, err
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

// startRounds reads a call's input responses and requestState, and returns
// the rounds that answer the plugin's requests on this run. A state moat
// did not issue, or responses without the one awaited, is the client's
// error.
func startRounds(key *StateKey, principal, method, name string, args json.RawMessage, state string, responses mcp.InputResponseMap) (*rounds, error) {
	r := &rounds{}
	if state == "" {
		if len(responses) > 0 {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "inputResponses came without the requestState moat returned with the input requests; send both, or call again without inputResponses"}
		}
		return r, nil
	}
	st, err := key.open(state, principal, method, name, argumentsDigest(args))
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("requestState %v; call again without requestState and inputResponses to start over", err)}
	}
	resp, ok := responses[st.Pending]
	if !ok || resp == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("inputResponses has no answer for %q, the input request moat is waiting on", st.Pending)}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("inputResponses[%q] does not encode: %v", st.Pending, err)}
	}
	r.answers = append(st.Answers, answer{Method: st.Asked, Result: b})
	return r, nil
}

// inputRequired is the result that ends a round: the plugin's request,
// and the state to send back with the answer.
func inputRequired(key *StateKey, r *rounds, principal, method, name string, args json.RawMessage) (*mcp.CallToolResult, error) {
	ir, err := inputRequest(r.asked, r.askedParams)
	if err != nil {
		return nil, err
	}
	pending := fmt.Sprintf("moat-%d", len(r.answers)+1)
	state, err := key.sign(&roundState{Principal: principal, Method: method, Name: name, Args: argumentsDigest(args),
		Answers: r.answers, Pending: pending, Asked: r.asked})
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{pending: ir}, RequestState: state}, nil
}
