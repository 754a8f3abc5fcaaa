package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ProtocolVersion is the MCP revision the clients ask for.
const ProtocolVersion = "2025-06-18"

// Target says where a server is and how to call it.
type Target struct {
	// URL is the streamable HTTP endpoint, such as http://127.0.0.1:8080/mcp.
	URL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// Stateless skips initialize: every tools/call stands alone, without a
	// session, carrying only its MCP-Protocol-Version. Only servers that
	// serve stateless requests answer them (moat 1 and the SDK servers
	// measured here do not; the net/http peer does).
	Stateless bool
	// Protocol is the MCP-Protocol-Version of stateless requests; empty
	// means ProtocolVersion.
	Protocol string
	// Tool is the tool to call; it must echo its "text" argument.
	Tool string
	// Text is the argument sent with every call.
	Text string
}

// Error kinds, by which a Result counts failed calls.
var (
	// ErrTransport: the request did not get an HTTP answer (refused,
	// reset, timed out).
	ErrTransport = errors.New("transport")
	// ErrStatus: an HTTP status other than 200 (or 202 for a notification).
	ErrStatus = errors.New("http status")
	// ErrParse: the body was not a JSON-RPC answer to the request sent.
	ErrParse = errors.New("parse")
	// ErrRPC: a JSON-RPC error object.
	ErrRPC = errors.New("json-rpc error")
	// ErrTool: a tool result with isError, or not the echo of the text.
	ErrTool = errors.New("tool result")
)

// requestIDs numbers every request of the process, so that no two share an
// id, across clients and sessions alike.
var requestIDs atomic.Int64

// Client is one MCP client over streamable HTTP. It is not safe for
// concurrent use: a real client's calls share a session, and the harness
// runs one goroutine per Client.
type Client struct {
	target  Target
	http    *http.Client
	session string // Mcp-Session-Id, if the server gave one
	call    []byte // the tools/call body, less its id
	want    string // the text the answer must carry
}

// Dial opens a session with the server at t (unless t.Stateless). hc
// carries the requests; give each Client its own transport to have a
// connection of its own, as separate clients would.
func Dial(ctx context.Context, t Target, hc *http.Client) (*Client, error) {
	params, err := json.Marshal(map[string]any{"name": t.Tool, "arguments": map[string]string{"text": t.Text}})
	if err != nil {
		return nil, err
	}
	c := &Client{target: t, http: hc, call: params, want: t.Text}
	if t.Stateless {
		return c, nil
	}
	init := map[string]any{
		"protocolVersion": ProtocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]string{"name": "moat-load", "version": "1.0.0"},
	}
	raw, err := json.Marshal(init)
	if err != nil {
		return nil, err
	}
	resp, header, err := c.roundTrip(ctx, "initialize", raw)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var result struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(resp, &result); err != nil || result.ProtocolVersion == "" {
		return nil, fmt.Errorf("initialize: %w: result without a protocolVersion: %.200s", ErrParse, resp)
	}
	c.session = header.Get("Mcp-Session-Id")
	if err := c.notify(ctx, "notifications/initialized"); err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return c, nil
}

func (t Target) protocol() string {
	if t.Protocol != "" {
		return t.Protocol
	}
	return ProtocolVersion
}

// Session is the Mcp-Session-Id the server gave, or "".
func (c *Client) Session() string { return c.session }

// Call sends one tools/call and checks that the answer echoes the text.
// Its error wraps one of the Err kinds above.
func (c *Client) Call(ctx context.Context) error {
	result, _, err := c.roundTrip(ctx, "tools/call", c.call)
	if err != nil {
		return err
	}
	var r struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return fmt.Errorf("%w: tools/call result: %v", ErrParse, err)
	}
	switch {
	case r.IsError:
		return fmt.Errorf("%w: isError: %.200s", ErrTool, result)
	case len(r.Content) != 1 || r.Content[0].Type != "text" || r.Content[0].Text != c.want:
		return fmt.Errorf("%w: not the echo of the text sent: %.200s", ErrTool, result)
	}
	return nil
}

// Close ends the session (DELETE), as a client that is done does.
func (c *Client) Close(ctx context.Context) {
	if c.session == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.target.URL, nil)
	if err != nil {
		return
	}
	c.headers(req)
	if resp, err := c.http.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

func (c *Client) headers(req *http.Request) {
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.target.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.target.Token)
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	if c.session != "" || c.target.Stateless {
		req.Header.Set("MCP-Protocol-Version", c.target.protocol())
	}
}

func (c *Client) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.headers(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransport, err)
	}
	return resp, nil
}

func (c *Client) notify(ctx context.Context, method string) error {
	resp, err := c.post(ctx, []byte(`{"jsonrpc":"2.0","method":"`+method+`"}`))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s", ErrStatus, resp.Status)
	}
	return nil
}

// message is a JSON-RPC message as it comes back: an answer, or a request
// or notification the server sent on the same stream.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// roundTrip sends one request with a fresh id and returns its result,
// read from a JSON body or from the SSE stream the server opened for it.
func (c *Client) roundTrip(ctx context.Context, method string, params []byte) (json.RawMessage, http.Header, error) {
	id := strconv.FormatInt(requestIDs.Add(1), 10)
	body := make([]byte, 0, 64+len(params))
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = append(body, id...)
	body = append(body, `,"method":"`...)
	body = append(body, method...)
	body = append(body, `","params":`...)
	body = append(body, params...)
	body = append(body, '}')
	resp, err := c.post(ctx, body)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrStatus, resp.Status, bytes.TrimSpace(msg))
	}
	ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var m *message
	switch ctype {
	case "application/json":
		m, err = decodeAnswer(resp.Body, id)
	case "text/event-stream":
		m, err = readStream(resp.Body, id)
	default:
		err = fmt.Errorf("%w: Content-Type %q is neither application/json nor text/event-stream", ErrParse, ctype)
	}
	if err != nil {
		return nil, nil, err
	}
	// Drain what is left so the connection can be used again.
	_, _ = io.Copy(io.Discard, resp.Body)
	if m.Error != nil {
		return nil, nil, fmt.Errorf("%w: %d %s", ErrRPC, m.Error.Code, m.Error.Message)
	}
	if m.Result == nil {
		return nil, nil, fmt.Errorf("%w: an answer with neither result nor error", ErrParse)
	}
	return m.Result, resp.Header, nil
}

func decodeAnswer(r io.Reader, id string) (*message, error) {
	var m message
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: JSON body: %v", ErrParse, err)
	}
	if err := m.answers(id); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *message) answers(id string) error {
	if m.JSONRPC != "2.0" {
		return fmt.Errorf("%w: jsonrpc is %q, not \"2.0\"", ErrParse, m.JSONRPC)
	}
	if string(m.ID) != id && string(m.ID) != `"`+id+`"` {
		return fmt.Errorf("%w: an answer to id %s, not to %s", ErrParse, m.ID, id)
	}
	return nil
}

// readStream reads SSE events until the answer to id. Messages the server
// sends first (notifications, its own requests) are parsed and skipped.
func readStream(r io.Reader, id string) (*message, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 16<<20)
	var data []byte
	for {
		more := sc.Scan()
		line := sc.Bytes()
		if more && len(line) > 0 {
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			if string(field) == "data" {
				if len(data) > 0 {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
			continue
		}
		// A blank line (or the end of the stream) dispatches the event.
		if len(data) > 0 {
			var m message
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("%w: SSE data: %v", ErrParse, err)
			}
			if m.Method == "" {
				if err := m.answers(id); err != nil {
					return nil, err
				}
				return &m, nil
			}
			data = data[:0]
		}
		if !more {
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("%w: SSE stream: %v", ErrTransport, err)
			}
			return nil, fmt.Errorf("%w: the SSE stream ended without an answer to id %s", ErrParse, id)
		}
	}
}

// Kind names the error kind err wraps, for counting.
func Kind(err error) string {
	for _, k := range []error{ErrTransport, ErrStatus, ErrParse, ErrRPC, ErrTool} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return "other"
}

// newHTTPClient is a client with a connection pool of its own.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}
