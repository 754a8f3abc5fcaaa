package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The edge's one reading of a request body. The rate limits, the audit and
// the authentication refusal all look at this view; the go-sdk decodes the
// same bytes again to run the request. Two readers agree only on what
// cannot be read two ways, so the edge refuses everything else: a body
// that is not exactly one JSON-RPC message, a key that appears twice in
// one object (at any depth), a key that differs only in case from a
// protocol key, and a protocol member of the wrong type. What is left
// reads the same to any JSON decoder, case-sensitive or not, and
// FuzzFrontDoorView checks that it reads the same to the go-sdk.

// view is what the edge read of one JSON-RPC message.
type view struct {
	// ID is the request id: a string, an int64, or nil when absent or null.
	ID any
	// Method is the method of a request or notification; "" with Request
	// false for a response the client sends back (to sampling, say).
	Method  string
	Request bool
	// Name is params.name (the tool of tools/call, the prompt of
	// prompts/get), "" when absent.
	Name string
	// Arguments is params.arguments as received, nil when absent.
	Arguments json.RawMessage
	// Progress reports whether params._meta holds a progressToken: the
	// client asked for progress notifications on this request's stream.
	Progress bool

	// plain reports whether params held nothing but "name" and
	// "arguments": no _meta, no state of an earlier round.
	plain bool

	version bool // "jsonrpc":"2.0" was read
	other   bool // params held a member besides name and arguments
}

// maxViewDepth bounds the nesting of a body: deeper ones are refused
// before any recursion could exhaust the stack. The go-sdk allows 1000;
// no MCP message needs more than a few dozen.
const maxViewDepth = 128

// viewError is why the edge refused a body: the JSON-RPC error the client
// gets, and a short label for the audit log and metrics.
type viewError struct {
	code  int64
	label string // parse_error, batch, not_object, duplicate_key, case_variant, wrong_type, too_deep
	msg   string
}

func (e *viewError) Error() string { return e.msg }

func (e *viewError) rpc() *jsonrpc.Error { return &jsonrpc.Error{Code: e.code, Message: e.msg} }

const fixHint = "send one JSON-RPC message per request, as UTF-8 JSON, each key once"

// readView reads body as one JSON-RPC message, or says why it will not.
func readView(body []byte) (*view, *viewError) {
	p := &viewParser{data: body, keys: make([][]byte, 0, 16), utf8: utf8.Valid(body)}
	p.ws()
	switch {
	case p.pos >= len(body):
		return nil, &viewError{code: jsonrpc.CodeInvalidRequest, label: "not_object",
			msg: "invalid request: the body is empty; " + fixHint}
	case body[p.pos] == '[':
		return nil, &viewError{code: jsonrpc.CodeInvalidRequest, label: "batch",
			msg: "invalid request: JSON-RPC batches are not part of the MCP versions moat serves (2025-11-25, 2026-07-28); send one message per request"}
	case body[p.pos] != '{':
		return nil, &viewError{code: jsonrpc.CodeInvalidRequest, label: "not_object",
			msg: "invalid request: the body is not a JSON object; " + fixHint}
	}
	v := &view{}
	if err := p.object(1, v.message); err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(body) {
		return nil, p.syntax("data after the message")
	}
	if !v.version {
		return nil, errVersion
	}
	v.Progress = p.progress
	v.plain = v.plain && !v.other
	if !v.Request && v.ID == nil {
		return nil, &viewError{code: jsonrpc.CodeInvalidRequest, label: "wrong_type",
			msg: `invalid request: a message needs a "method" (a request or notification) or the "id" of the request it answers; add the one that applies`}
	}
	return v, nil
}

// The protocol keys are the names of MCP's envelope: a key that differs
// from one only in case is refused, since a case-insensitive reader would take
// it for the protocol key and a case-sensitive one would not.
var messageKeys = []string{"jsonrpc", "id", "method", "params", "result", "error"}
var paramsKeys = []string{"name", "arguments", "_meta", "uri", "cursor", "ref", "argument", "protocolVersion", "capabilities", "clientInfo", "level", "progressToken"}
var metaKeys = []string{"progressToken"}
var refKeys = []string{"type", "name", "uri", "value"}

func caseVariant(key []byte, keys []string) *viewError {
	for _, k := range keys {
		if string(key) != k && strings.EqualFold(string(key), k) {
			return &viewError{code: jsonrpc.CodeInvalidRequest, label: "case_variant",
				msg: fmt.Sprintf("invalid request: key %q differs only in case from the protocol key %q; spell it %q or drop it", key, k, k)}
		}
	}
	return nil
}

var errVersion = &viewError{code: jsonrpc.CodeInvalidRequest, label: "wrong_type",
	msg: `invalid request: a JSON-RPC message carries "jsonrpc":"2.0"; add it`}

func wrongType(where, want string) *viewError {
	return &viewError{code: jsonrpc.CodeInvalidRequest, label: "wrong_type",
		msg: fmt.Sprintf("invalid request: %s must be %s; send it so, or leave it out", where, want)}
}

// message reads one member of the message object.
func (v *view) message(p *viewParser, key []byte, depth int) *viewError {
	if err := caseVariant(key, messageKeys); err != nil {
		return err
	}
	switch string(key) {
	case "jsonrpc":
		s, ok, err := p.stringValue(depth)
		if err != nil {
			return err
		}
		if !ok || s != "2.0" {
			return errVersion
		}
		v.version = true
		return nil
	case "id":
		return v.id(p, depth)
	case "method":
		s, ok, err := p.stringValue(depth)
		if err != nil {
			return err
		}
		if !ok {
			return wrongType(`"method"`, "a string")
		}
		v.Method, v.Request = s, true
		return nil
	case "params":
		if p.peek() != '{' {
			return wrongType(`"params"`, "an object")
		}
		v.plain = true
		return p.object(depth+1, v.params)
	case "error":
		if p.peek() != '{' {
			return wrongType(`"error"`, "an object")
		}
	}
	return p.value(depth + 1)
}

func (v *view) id(p *viewParser, depth int) *viewError {
	switch c := p.peek(); {
	case c == '"':
		s, _, err := p.stringValue(depth)
		v.ID = s
		return err
	case c == 'n':
		v.ID = nil
		return p.value(depth + 1)
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if err := p.number(); err != nil {
			return err
		}
		// The go-sdk reads an id as a float64 and keeps its integer part:
		// only integers a float64 holds exactly read the same to both.
		f, err := strconv.ParseFloat(string(p.data[start:p.pos]), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
			return wrongType(`"id"`, "a string, an integer below 2^53, or null")
		}
		v.ID = int64(f)
		return nil
	}
	return wrongType(`"id"`, "a string, an integer or null")
}

// params reads one member of params.
func (v *view) params(p *viewParser, key []byte, depth int) *viewError {
	if err := caseVariant(key, paramsKeys); err != nil {
		return err
	}
	if k := string(key); k != "name" && k != "arguments" {
		v.other = true
	}
	switch string(key) {
	case "name", "uri", "cursor":
		s, ok, err := p.stringValue(depth)
		if err != nil {
			return err
		}
		if !ok {
			return wrongType(`params "`+string(key)+`"`, "a string")
		}
		if string(key) == "name" {
			v.Name = s
		}
		return nil
	case "arguments":
		if p.peek() != '{' {
			return wrongType(`params "arguments"`, "an object")
		}
		start := p.pos
		if err := p.value(depth + 1); err != nil {
			return err
		}
		v.Arguments = p.data[start:p.pos]
		return nil
	case "_meta":
		if p.peek() != '{' {
			return wrongType(`params "_meta"`, "an object")
		}
		return p.object(depth+1, meta)
	case "ref", "argument":
		if p.peek() != '{' {
			return wrongType(`params "`+string(key)+`"`, "an object")
		}
		outer := string(key)
		return p.object(depth+1, func(p *viewParser, k []byte, depth int) *viewError {
			if err := caseVariant(k, refKeys); err != nil {
				return err
			}
			switch string(k) {
			case "type", "name", "uri", "value":
				if p.peek() != '"' {
					return wrongType(`params "`+outer+`" "`+string(k)+`"`, "a string")
				}
			}
			return p.value(depth + 1)
		})
	}
	return p.value(depth + 1)
}

func meta(p *viewParser, key []byte, depth int) *viewError {
	if err := caseVariant(key, metaKeys); err != nil {
		return err
	}
	if string(key) == "progressToken" {
		if c := p.peek(); c != '"' && c != '-' && (c < '0' || c > '9') {
			return wrongType(`params "_meta" "progressToken"`, "a string or a number")
		}
		p.progress = true
	}
	return p.value(depth + 1)
}

// viewParser is a strict RFC 8259 reader. It allocates only for the
// strings it returns, and for keys that hold escapes or bytes that are not
// UTF-8. Such bytes are read as encoding/json and the go-sdk read them,
// each as U+FFFD, so that two keys that differ only there are the same key.
type viewParser struct {
	data []byte
	pos  int
	keys [][]byte // the keys of the objects being read, innermost last
	// progress is set when params._meta holds a progressToken.
	progress bool
	utf8     bool // the whole body is UTF-8: strings need no repair
}

func (p *viewParser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *viewParser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *viewParser) syntax(what string) *viewError {
	return &viewError{code: jsonrpc.CodeParseError, label: "parse_error",
		msg: fmt.Sprintf("parse error at byte %d: %s; %s", p.pos, what, fixHint)}
}

// member handles one key of an object; the value starts at p.pos and the
// handler must consume it.
type member func(p *viewParser, key []byte, depth int) *viewError

// object reads an object at p.pos, refusing a key seen twice in it.
func (p *viewParser) object(depth int, each member) *viewError {
	if depth > maxViewDepth {
		return &viewError{code: jsonrpc.CodeInvalidRequest, label: "too_deep",
			msg: fmt.Sprintf("invalid request: the message nests deeper than %d levels; flatten the arguments", maxViewDepth)}
	}
	p.pos++ // '{'
	mark := len(p.keys)
	defer func() { p.keys = p.keys[:mark] }()
	var seen map[string]struct{} // only for large objects
	p.ws()
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	for {
		p.ws()
		if p.peek() != '"' {
			return p.syntax("expected a key")
		}
		key, err := p.strBytes()
		if err != nil {
			return err
		}
		dup := false
		if seen != nil {
			_, dup = seen[string(key)]
			seen[string(key)] = struct{}{}
		} else {
			for _, k := range p.keys[mark:] {
				if bytes.Equal(k, key) {
					dup = true
					break
				}
			}
			p.keys = append(p.keys, key)
			if len(p.keys)-mark > 16 {
				seen = make(map[string]struct{}, 32)
				for _, k := range p.keys[mark:] {
					seen[string(k)] = struct{}{}
				}
			}
		}
		if dup {
			return &viewError{code: jsonrpc.CodeInvalidRequest, label: "duplicate_key",
				msg: fmt.Sprintf("invalid request: key %q appears twice in one object; JSON readers disagree on which counts, so send it once", key)}
		}
		p.ws()
		if p.peek() != ':' {
			return p.syntax("expected ':'")
		}
		p.pos++
		p.ws()
		if each != nil {
			err = each(p, key, depth)
		} else {
			err = p.value(depth + 1)
		}
		if err != nil {
			return err
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntax("expected ',' or '}'")
		}
	}
}

// value reads any JSON value at p.pos.
func (p *viewParser) value(depth int) *viewError {
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth, nil)
	case c == '[':
		if depth > maxViewDepth {
			return &viewError{code: jsonrpc.CodeInvalidRequest, label: "too_deep",
				msg: fmt.Sprintf("invalid request: the message nests deeper than %d levels; flatten the arguments", maxViewDepth)}
		}
		p.pos++
		p.ws()
		if p.peek() == ']' {
			p.pos++
			return nil
		}
		for {
			p.ws()
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.pos++
			case ']':
				p.pos++
				return nil
			default:
				return p.syntax("expected ',' or ']'")
			}
		}
	case c == '"':
		_, err := p.skipString()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return p.syntax("expected a value")
}

// stringValue reads the value at p.pos if it is a string; ok is false,
// with the value consumed, when it is of another type.
func (p *viewParser) stringValue(depth int) (s string, ok bool, err *viewError) {
	if p.peek() != '"' {
		return "", false, p.value(depth + 1)
	}
	s, err = p.str()
	return s, err == nil, err
}

func (p *viewParser) literal(word string) *viewError {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		return p.syntax("expected a value")
	}
	p.pos += len(word)
	return nil
}

func (p *viewParser) number() *viewError {
	d := p.data
	i := p.pos
	digits := func() bool {
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return p.syntax("malformed number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return p.syntax("malformed number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return p.syntax("malformed number")
		}
	}
	p.pos = i
	return nil
}

// skipString checks the string at p.pos and moves past it; escaped reports
// whether it holds a backslash.
func (p *viewParser) skipString() (escaped bool, err *viewError) {
	d := p.data
	i := p.pos + 1
	for i < len(d) {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				return escaped, p.syntax("unterminated string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					p.pos = i
					return escaped, p.syntax(`malformed \u escape`)
				}
				i += 6
			default:
				p.pos = i
				return escaped, p.syntax("malformed escape")
			}
		case c < 0x20:
			p.pos = i
			return escaped, p.syntax("control character in a string")
		default:
			i++
		}
	}
	return escaped, p.syntax("unterminated string")
}

// str reads the string at p.pos and returns it decoded.
func (p *viewParser) str() (string, *viewError) {
	b, err := p.strBytes()
	return string(b), err
}

// strBytes reads the string at p.pos and returns it decoded, as
// encoding/json and the go-sdk decode it (an unpaired surrogate becomes
// U+FFFD): the body's own bytes when it holds no escape.
func (p *viewParser) strBytes() ([]byte, *viewError) {
	start := p.pos
	escaped, err := p.skipString()
	if err != nil {
		return nil, err
	}
	raw := p.data[start+1 : p.pos-1]
	if !escaped && (p.utf8 || utf8.Valid(raw)) {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r) // U+FFFD for a byte that is not UTF-8
			i += size
			continue
		}
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(raw[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(raw[i+2:i+6]))); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return out, nil
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) uint16 {
	var n uint16
	for _, c := range b {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			n |= uint16(c - 'a' + 10)
		default:
			n |= uint16(c - 'A' + 10)
		}
	}
	return n
}
