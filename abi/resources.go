package abi

import (
	"bytes"
	"encoding/json"
)

// The shapes of resources, prompts and completion, as MCP (2025-11-25)
// defines them and as a plugin declares and serves them. Members the host
// does not know are ignored when it decodes, so a plugin may send more of
// MCP than is written here.

// Resource is a resource a plugin serves at a fixed URI.
type Resource struct {
	URI         string       `json:"uri"`
	Name        string       `json:"name"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	MIMEType    string       `json:"mimeType,omitempty"`
	Size        int64        `json:"size,omitempty"` // in bytes, if known
	Annotations *Annotations `json:"annotations,omitempty"`
}

// ResourceTemplate is a family of resources whose URIs match an RFC 6570
// URI template. The SDKs match level-1 templates ("{var}") themselves; see
// MatchURITemplate.
type ResourceTemplate struct {
	URITemplate string       `json:"uriTemplate"`
	Name        string       `json:"name"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	MIMEType    string       `json:"mimeType,omitempty"`
	Annotations *Annotations `json:"annotations,omitempty"`
}

// Annotations are MCP's hints about a resource: who it is for ("user",
// "assistant"), how much it matters (0 to 1), and when it last changed
// (an ISO 8601 time).
type Annotations struct {
	Audience     []string `json:"audience,omitempty"`
	Priority     *float64 `json:"priority,omitempty"`
	LastModified string   `json:"lastModified,omitempty"`
}

// Prompt is a prompt template a plugin offers, under its own name; the
// host adds the plugin's prefix, as for tools.
type Prompt struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []PromptArgument `json:"arguments,omitempty"`
}

// PromptArgument is one argument a prompt takes. Arguments are strings.
type PromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// ReadResourceParams are the params of a resources/read request.
type ReadResourceParams struct {
	URI  string         `json:"uri"`
	Meta map[string]any `json:"_meta,omitempty"`
}

// ReadResourceResult is the result of a resources/read request.
type ReadResourceResult struct {
	Contents []ResourceContents `json:"contents"`
}

// ResourceContents is the content of one resource: Text for text, or Blob
// (base64) for binary data. It encodes "text" whenever Blob is empty, so
// that an empty text resource stays a text resource.
type ResourceContents struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mimeType,omitempty"`
	Text     string `json:"text,omitempty"`
	Blob     string `json:"blob,omitempty"`
}

// MarshalJSON writes the contents with exactly one of "text" and "blob".
func (c ResourceContents) MarshalJSON() ([]byte, error) {
	type plain ResourceContents // without this method
	if c.Blob != "" {
		return marshal(plain(c))
	}
	return marshal(struct {
		URI      string `json:"uri"`
		MIMEType string `json:"mimeType,omitempty"`
		Text     string `json:"text"`
	}{c.URI, c.MIMEType, c.Text})
}

// GetPromptParams are the params of a prompts/get request. Name is the
// prompt's own name, without the host's prefix.
type GetPromptParams struct {
	Name           string                     `json:"name"`
	Arguments      map[string]string          `json:"arguments,omitempty"`
	Meta           map[string]any             `json:"_meta,omitempty"`
	InputResponses map[string]json.RawMessage `json:"inputResponses,omitempty"`
	RequestState   string                     `json:"requestState,omitempty"`
}

// GetPromptResult is the result of a prompts/get request; like a
// CallToolResult, it may ask for input instead.
type GetPromptResult struct {
	Description   string                  `json:"description,omitempty"`
	Messages      []PromptMessage         `json:"messages"`
	ResultType    string                  `json:"resultType,omitempty"`
	InputRequests map[string]InputRequest `json:"inputRequests,omitempty"`
	RequestState  string                  `json:"requestState,omitempty"`
}

// Roles of a prompt message.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// PromptMessage is one message of a prompt: its role and one content block
// (text, image, audio, resource_link or resource).
type PromptMessage struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Kinds of reference a completion/complete request names.
const (
	RefPrompt   = "ref/prompt"
	RefResource = "ref/resource"
)

// CompleteParams are the params of a completion/complete request: which
// argument of which prompt, or which variable of which resource template,
// and what the user has typed so far.
type CompleteParams struct {
	Ref      CompleteReference `json:"ref"`
	Argument CompleteArgument  `json:"argument"`
	Context  *CompleteContext  `json:"context,omitempty"`
	Meta     map[string]any    `json:"_meta,omitempty"`
}

// CompleteReference names a prompt (Type RefPrompt, Name its own name) or a
// resource template (Type RefResource, URI its uriTemplate, as declared).
type CompleteReference struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// CompleteArgument is the argument (or template variable) being completed
// and its value so far.
type CompleteArgument struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CompleteContext holds the values of the arguments already given.
type CompleteContext struct {
	Arguments map[string]string `json:"arguments,omitempty"`
}

// MaxCompletionValues is how many values one completion may hold (MCP's
// limit); a plugin with more sends the first ones and sets HasMore.
const MaxCompletionValues = 100

// CompleteResult is the result of a completion/complete request.
type CompleteResult struct {
	Completion Completion `json:"completion"`
}

// Completion is a list of suggested values. Values is never null on the
// wire: no suggestion is an empty array.
type Completion struct {
	Values  []string `json:"values"`
	Total   int      `json:"total,omitempty"`
	HasMore bool     `json:"hasMore,omitempty"`
}

// MarshalJSON writes a nil Values as an empty array.
func (c Completion) MarshalJSON() ([]byte, error) {
	type plain Completion // without this method
	if c.Values == nil {
		c.Values = []string{}
	}
	return marshal(plain(c))
}

// marshal encodes v leaving '<', '>' and '&' as they are: an encoder that
// calls these methods escapes them itself if it is set to, and one that is
// not (as the SDKs' are, to write what the other languages write) would
// otherwise get them escaped regardless.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
