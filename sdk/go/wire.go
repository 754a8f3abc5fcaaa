package moat

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/moat-mcp/moat/abi"
)

// Every call pays for reading the request's envelope and writing the result.
// Compiled to WebAssembly, encoding/json spends tens of microseconds on that,
// far more than the host's own overhead, so the fixed shapes are read and
// written here by hand. Arguments and structured content, whose shapes are
// the tools', stay with encoding/json.

var errSyntax = errors.New("invalid JSON")

// request is the part of a moat_call request the dispatch needs. method,
// name, args and meta share the request buffer's bytes.
type request struct {
	method, name string
	args, meta   json.RawMessage
	// responses and state come with a call that carries the client's
	// answers to an input-required result.
	responses json.RawMessage
	state     string
	// params is the whole params value, for the methods other than
	// tools/call, whose shapes encoding/json reads.
	params json.RawMessage
}

// parseRequest reads {"method": ..., "params": {"name", "arguments", "_meta"}}.
// It checks the structure it walks; the raw values it hands out are checked
// by whoever decodes them.
func parseRequest(b []byte) (req request, err error) {
	r := reader{b: b}
	for first := true; ; first = false {
		key, ok, err := r.member(first)
		if !ok {
			if err == nil && r.peek() != 0 {
				err = errSyntax
			}
			return req, err
		}
		switch string(key) {
		case "method":
			req.method, err = r.view()
		case "params":
			if r.peek() == '{' {
				start := r.i
				err = r.params(&req)
				req.params = r.b[start:r.i]
			} else {
				req.params, err = r.value()
			}
		default:
			_, err = r.value()
		}
		if err != nil {
			return req, err
		}
	}
}

func (r *reader) params(req *request) error {
	for first := true; ; first = false {
		key, ok, err := r.member(first)
		if !ok {
			return err
		}
		switch string(key) {
		case "name":
			req.name, err = r.view()
		case "arguments":
			req.args, err = r.value()
		case "_meta":
			req.meta, err = r.value()
		case "inputResponses":
			req.responses, err = r.value()
		case "requestState":
			req.state, err = r.string()
		default:
			_, err = r.value()
		}
		if err != nil {
			return err
		}
	}
}

// stringMember finds the member key of the JSON object b, which must be a
// string; the last one if there are several, as with encoding/json. An
// empty b has no members.
func stringMember(b []byte, key string) (val string, found bool, err error) {
	if len(b) == 0 {
		return "", false, nil
	}
	r := reader{b: b}
	for first := true; ; first = false {
		k, ok, err := r.member(first)
		if !ok {
			if err == nil && r.peek() != 0 {
				err = errSyntax
			}
			return val, found, err
		}
		if string(k) != key {
			_, err = r.value()
		} else if r.peek() != '"' {
			err = fmt.Errorf("argument %q must be a string", key)
		} else {
			val, err = r.string()
			found = true
		}
		if err != nil {
			return "", found, err
		}
	}
}

// reader walks JSON text.
type reader struct {
	b []byte
	i int
}

// peek skips white space and returns the next byte, 0 at the end. Its
// usual case, no white space, is small enough to be inlined.
func (r *reader) peek() byte {
	if r.i < len(r.b) && r.b[r.i] > ' ' {
		return r.b[r.i]
	}
	return r.skipSpace()
}

func (r *reader) skipSpace() byte {
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

func (r *reader) consume(c byte) bool {
	if r.peek() == c {
		r.i++
		return true
	}
	return false
}

// member reads up to the value of an object's next member, or its first
// if first, and returns the key, unquoted if it holds an escape. ok is false
// at the end of the object or on an error.
func (r *reader) member(first bool) (key []byte, ok bool, err error) {
	switch {
	case first && !r.consume('{'):
		return nil, false, errSyntax
	case r.consume('}'):
		return nil, false, nil
	case !first && !r.consume(','):
		return nil, false, errSyntax
	}
	raw, plain, err := r.rawString()
	if err != nil {
		return nil, false, err
	}
	if !r.consume(':') {
		return nil, false, errSyntax
	}
	key = raw[1 : len(raw)-1]
	if !plain {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		key = []byte(s)
	}
	return key, true, nil
}

// stopsString marks the bytes a string scan must look at: the closing
// quote, an escape, a control character (invalid in JSON text) and the
// first byte of a multi-byte character. Compiled to WebAssembly, one table
// load per byte is several times cheaper than four comparisons.
var stopsString = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// hasStop reports whether any of the eight bytes in x is one stopsString
// marks: a quote, a backslash, a control character or a byte >= 0x80.
func hasStop(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	return (zero(x^(ones*'"')) | zero(x^(ones*'\\')) | (x-ones*0x20)&^x&highs | x&highs) != 0
}

// word is the first eight bytes of s, little-endian, as
// binary.LittleEndian.Uint64 reads them from a slice.
func word(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// rawString returns the next string, quotes and escapes included; plain
// reports that it holds neither escapes nor non-ASCII bytes.
func (r *reader) rawString() (raw []byte, plain bool, err error) {
	if r.peek() != '"' {
		return nil, false, errSyntax
	}
	b, start := r.b, r.i // locals: this loop is the hot one
	plain = true
	for i := start + 1; i < len(b); i++ {
		// Eight bytes at a time while none of them needs a look.
		for i+8 <= len(b) && !hasStop(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if !stopsString[c] {
			continue
		}
		switch {
		case c == '"':
			r.i = i + 1
			return b[start:r.i], plain, nil
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			return nil, false, errSyntax
		default:
			plain = false
		}
	}
	return nil, false, errSyntax
}

// string reads a string value; null reads as "", as with encoding/json.
func (r *reader) string() (string, error) {
	if r.peek() == 'n' {
		if v, err := r.value(); err != nil || string(v) != "null" {
			return "", errSyntax
		}
		return "", nil
	}
	raw, plain, err := r.rawString()
	if err != nil {
		return "", err
	}
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string // escapes or non-ASCII: let encoding/json decide
	err = json.Unmarshal(raw, &s)
	return s, err
}

// view is string without the copy: a plain string is read in place, as a
// string that shares the request's bytes. It is for values that do not
// outlive the request's handling (the method, the tool's name); a handler
// is given copies.
func (r *reader) view() (string, error) {
	if r.peek() != '"' {
		return r.string()
	}
	raw, plain, err := r.rawString()
	if err != nil || !plain {
		r.i -= len(raw)
		return r.string()
	}
	return unsafe.String(unsafe.SliceData(raw[1:]), len(raw)-2), nil
}

// value skips the next value and returns it raw.
func (r *reader) value() ([]byte, error) {
	c := r.peek()
	start := r.i
	switch c {
	case 0:
		return nil, errSyntax
	case '"':
		raw, _, err := r.rawString()
		return raw, err
	case '{', '[':
		var stack [32]byte // nesting deeper than this moves to the heap
		open := stack[:0]
		for r.i < len(r.b) {
			switch c := r.b[r.i]; c {
			case '"':
				if _, _, err := r.rawString(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				open = append(open, c+2) // '{'+2 is '}', '['+2 is ']'
			case '}', ']':
				if len(open) == 0 || open[len(open)-1] != c {
					return nil, errSyntax
				}
				open = open[:len(open)-1]
				if len(open) == 0 {
					r.i++
					return r.b[start:r.i], nil
				}
			}
			r.i++
		}
		return nil, errSyntax
	}
	for r.i < len(r.b) { // a number or a literal
		switch r.b[r.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return r.b[start:r.i], nil
		}
		r.i++
	}
	return r.b[start:r.i], nil
}

// appendResult writes res as encoding/json would. Structured content is
// checked and copied as it is.
func appendResult(dst []byte, res *abi.CallToolResult) ([]byte, error) {
	if res.StructuredContent != nil && !json.Valid(res.StructuredContent) {
		return dst, errors.New("structured content is not valid JSON")
	}
	size := 48 + len(res.StructuredContent)
	for _, c := range res.Content {
		size += 48 + len(c.Type) + len(c.Text) + len(c.Data) + len(c.MIMEType) + len(c.URI) + len(c.Name) + len(c.Title) + len(c.Description)
		if c.Resource != nil {
			size += 48 + len(c.Resource.URI) + len(c.Resource.MIMEType) + len(c.Resource.Text) + len(c.Resource.Blob)
		}
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"content":[`...)
	for i, c := range res.Content {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":`...)
		dst = appendString(dst, c.Type)
		dst = appendField(dst, `,"text":`, c.Text)
		dst = appendField(dst, `,"data":`, c.Data)
		dst = appendField(dst, `,"mimeType":`, c.MIMEType)
		dst = appendField(dst, `,"uri":`, c.URI)
		dst = appendField(dst, `,"name":`, c.Name)
		dst = appendField(dst, `,"title":`, c.Title)
		dst = appendField(dst, `,"description":`, c.Description)
		if c.Size != 0 {
			dst = strconv.AppendInt(append(dst, `,"size":`...), c.Size, 10)
		}
		if r := c.Resource; r != nil {
			dst = append(dst, `,"resource":{"uri":`...)
			dst = appendString(dst, r.URI)
			dst = appendField(dst, `,"mimeType":`, r.MIMEType)
			if r.Blob != "" {
				dst = appendString(append(dst, `,"blob":`...), r.Blob)
			} else {
				dst = appendString(append(dst, `,"text":`...), r.Text)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if res.StructuredContent != nil {
		dst = append(dst, `,"structuredContent":`...)
		dst = append(dst, res.StructuredContent...)
	}
	if res.IsError {
		dst = append(dst, `,"isError":true`...)
	}
	return append(dst, '}'), nil
}

// appendField writes a member of an object, unless val is empty.
func appendField(dst []byte, key, val string) []byte {
	if val == "" {
		return dst
	}
	return appendString(append(dst, key...), val)
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping or checking.
		for i+8 <= len(s) && !hasStop(word(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
