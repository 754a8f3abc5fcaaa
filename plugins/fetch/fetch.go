package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// Paging bounds, in characters (Unicode code points) of the text returned.
const (
	defaultMaxLength = 5000
	// maxMaxLength keeps a page, at up to 4 bytes a character and its
	// JSON escapes, under the host's default output cap of 1MiB.
	maxMaxLength = 100000
)

// fetchIn are the arguments of the fetch tool.
type fetchIn struct {
	URL        string `json:"url"`
	MaxLength  *int   `json:"max_length"`
	StartIndex int    `json:"start_index"`
	Raw        bool   `json:"raw"`
}

// fetchURL is the fetch tool: GET the URL through the host, reduce what
// comes back to text and return the page of it that was asked for.
func fetchURL(in fetchIn) (string, error) {
	u, err := target(in.URL)
	if err != nil {
		return "", err
	}
	maxLength := defaultMaxLength
	if in.MaxLength != nil {
		maxLength = *in.MaxLength
	}
	if maxLength < 1 || maxLength > maxMaxLength {
		return "", fmt.Errorf("max_length is %d; use 1 to %d characters (default %d)", maxLength, maxMaxLength, defaultMaxLength)
	}
	if in.StartIndex < 0 {
		return "", fmt.Errorf("start_index is %d; use 0 for the beginning, or the start_index a truncated answer named", in.StartIndex)
	}
	// What the last call left behind (a large page, held a few times
	// over) is collected before this one reads another.
	debug.FreeOSMemory()
	resp, err := moat.HTTPRequest(abi.HTTPRequest{
		Method: "GET",
		URL:    u.String(),
		Headers: map[string]string{
			"User-Agent": "moat-fetch/1.0 (MCP tool)",
			"Accept":     "text/html, application/xhtml+xml, text/plain, application/json;q=0.9, */*;q=0.5",
		},
	})
	if err != nil {
		return "", requestError(u, err)
	}
	text, err := content(u, resp, in.Raw)
	if err != nil {
		return "", err
	}
	return page(text, in.StartIndex, maxLength)
}

// target checks the URL a model passed.
func target(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("url is empty: pass the full http or https URL to fetch, such as https://example.com/page")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url %q does not parse (%v): pass a full http or https URL", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http or https URL with a host: pass one such as https://example.com/page", raw)
	}
	return u, nil
}

// requestError explains a request that got no response. The host's
// message already names the grant (plugins.NAME.grants.http) and the host.
func requestError(u *url.URL, err error) error {
	var me *moat.Error
	if !errors.As(err, &me) {
		return fmt.Errorf("fetching %s: %v", u, err)
	}
	switch {
	case errors.Is(err, moat.ErrPermission):
		return fmt.Errorf("fetching %s was refused: %s. Only the hosts listed in the plugin's grants.http can be fetched", u, me.Message)
	case errors.Is(err, moat.ErrTooBig):
		return fmt.Errorf("fetching %s: the page is too large: %s. An operator can raise the limit this names", u, me.Message)
	case errors.Is(err, moat.ErrTimeout):
		return fmt.Errorf("fetching %s timed out: %s. Retry later, or an operator can raise timeout in the plugin's grants.http", u, me.Message)
	case errors.Is(err, moat.ErrUnsupported):
		return fmt.Errorf("fetching %s: %s: this plugin needs a moat host", u, me.Message)
	}
	return fmt.Errorf("fetching %s failed: %s", u, me.Message)
}

// content turns a response into text: HTML reduced to readable text
// (unless raw), other text as it came, and anything else refused.
func content(u *url.URL, resp abi.HTTPResponse, raw bool) (string, error) {
	body := resp.Body
	if resp.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(resp.BodyBase64)
		if err != nil {
			return "", fmt.Errorf("fetching %s: the host sent a body that is not base64: %v", u, err)
		}
		body = string(b)
	}
	ctype := strings.ToLower(header(resp.Headers, "Content-Type"))
	media, _, _ := strings.Cut(ctype, ";")
	media = strings.TrimSpace(media)
	if resp.Status < 200 || resp.Status > 299 {
		snippet := body[:offset(body, 0, 64<<10)] // an error page's start says enough
		if isHTML(media, body) {
			snippet = reduce(snippet, u)
		}
		snippet = collapse(snippet)
		if cut := offset(snippet, 0, 300); cut < len(snippet) {
			snippet = snippet[:cut] + "…"
		}
		if snippet != "" {
			snippet = ": " + snippet
		}
		return "", fmt.Errorf("fetching %s: the server answered status %d%s", u, resp.Status, snippet)
	}
	switch {
	case isHTML(media, body):
		body = validUTF8(body, ctype)
		if raw {
			return body, nil
		}
		return readable(body, u), nil
	case isText(media) || media == "" && utf8.ValidString(body):
		return validUTF8(body, ctype), nil
	}
	return "", fmt.Errorf("fetching %s: the content is %s, and this tool returns only text (HTML, plain text, JSON, XML)", u, media)
}

// validUTF8 makes body valid UTF-8: Latin-1 (as most non-UTF-8 pages in
// the wild are) is converted; bytes of any other charset become U+FFFD.
func validUTF8(body, ctype string) string {
	if utf8.ValidString(body) {
		return body
	}
	if strings.Contains(ctype, "iso-8859-1") || strings.Contains(ctype, "latin1") || strings.Contains(ctype, "windows-1252") {
		r := make([]rune, len(body))
		for i := 0; i < len(body); i++ {
			r[i] = rune(body[i])
		}
		return string(r)
	}
	return strings.ToValidUTF8(body, "\uFFFD")
}

func isHTML(media, body string) bool {
	if media == "text/html" || media == "application/xhtml+xml" {
		return true
	}
	if media != "" {
		return false
	}
	head := strings.ToLower(strings.TrimSpace(body[:min(len(body), 512)]))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}

func isText(media string) bool {
	switch {
	case strings.HasPrefix(media, "text/"),
		strings.HasSuffix(media, "+json"), strings.HasSuffix(media, "+xml"):
		return true
	}
	switch media {
	case "application/json", "application/xml", "application/javascript",
		"application/ecmascript", "application/x-ndjson", "application/yaml",
		"application/x-yaml", "application/toml", "application/graphql", "application/sql":
		return true
	}
	return false
}

// header finds a header whatever the case of its name.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// page returns maxLength characters of text from start, and, when more
// follows, a note that says which start_index continues. Characters are
// Unicode code points, counted without copying the text.
func page(text string, start, maxLength int) (string, error) {
	total := utf8.RuneCountInString(text)
	if total == 0 {
		return "[The page has no text content.]", nil
	}
	if start >= total {
		return "", fmt.Errorf("start_index %d is past the end: the content has %d characters; use a start_index below %d", start, total, total)
	}
	end := min(start+maxLength, total)
	from := offset(text, 0, start)
	out := text[from:offset(text, from, end-start)]
	if end < total {
		out += fmt.Sprintf("\n\n[Content truncated: characters %d to %d of %d shown. To read on, call this tool again with the same url and start_index=%d.]", start, end, total, end)
	}
	return out, nil
}

// offset returns the byte offset n characters after byte offset from.
func offset(s string, from, n int) int {
	i := from
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
