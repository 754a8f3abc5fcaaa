package abi

import "encoding/json"

// Methods a plugin may serve through moat_call.
const (
	MethodToolsCall     = "tools/call"
	MethodResourcesRead = "resources/read"
	MethodPromptsGet    = "prompts/get"
	MethodComplete      = "completion/complete"
)

// Description is what moat_describe returns.
type Description struct {
	Name              string             `json:"name"`
	Version           string             `json:"version,omitempty"`
	Description       string             `json:"description,omitempty"`
	Tools             []Tool             `json:"tools"`
	Resources         []Resource         `json:"resources,omitempty"`
	ResourceTemplates []ResourceTemplate `json:"resourceTemplates,omitempty"`
	Prompts           []Prompt           `json:"prompts,omitempty"`
	Capabilities      Capabilities       `json:"capabilities,omitzero"`
}

// Tool is an MCP tool as a plugin declares it, under the plugin's own name.
type Tool struct {
	Name         string           `json:"name"`
	Title        string           `json:"title,omitempty"`
	Description  string           `json:"description,omitempty"`
	InputSchema  json.RawMessage  `json:"inputSchema"`
	OutputSchema json.RawMessage  `json:"outputSchema,omitempty"`
	Annotations  *ToolAnnotations `json:"annotations,omitempty"`
	// Execution says how the tool may run: as a task (MCP's tasks
	// extension) or not.
	Execution *ToolExecution `json:"execution,omitempty"`
}

// ToolExecution is how a tool may run. TaskSupport is one of the
// TaskSupport* values; empty means forbidden.
type ToolExecution struct {
	TaskSupport string `json:"taskSupport,omitempty"`
}

// Task support of a tool (MCP's io.modelcontextprotocol/tasks extension).
// A tool that supports tasks may run in the background: a client that
// negotiated the extension gets a task to poll when the call outlasts a
// moment, and the result once it is done. A required one runs only as a
// task.
const (
	TaskSupportForbidden = "forbidden"
	TaskSupportOptional  = "optional"
	TaskSupportRequired  = "required"
)

// ToolAnnotations are MCP's hints about a tool's behaviour. Pointers keep an
// unset hint apart from false, as MCP gives some hints a default of true.
type ToolAnnotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  bool   `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// Capabilities is what a plugin asks for. The operator grants; only what is
// both asked and granted is usable.
type Capabilities struct {
	HTTP        *HTTPCapability `json:"http,omitempty"`
	FS          []FSCapability  `json:"fs,omitempty"`
	KV          bool            `json:"kv,omitempty"`
	Config      []string        `json:"config,omitempty"`
	Sampling    bool            `json:"sampling,omitempty"`
	Elicitation bool            `json:"elicitation,omitempty"`
}

// HTTPCapability asks for outbound HTTP to these hosts.
type HTTPCapability struct {
	Hosts []string `json:"hosts"`
}

// FSCapability asks for a folder mounted at a guest path.
type FSCapability struct {
	Mount string `json:"mount"`
	Mode  string `json:"mode,omitempty"` // "ro" (the default) or "rw"
}

// Request is what the host passes to moat_call.
type Request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// CallToolParams are the params of a tools/call request. InputResponses
// and RequestState are set when the call comes back with the client's
// answers to an input-required result (see InputRequest).
type CallToolParams struct {
	Name           string                     `json:"name"`
	Arguments      json.RawMessage            `json:"arguments,omitempty"`
	Meta           map[string]any             `json:"_meta,omitempty"`
	InputResponses map[string]json.RawMessage `json:"inputResponses,omitempty"`
	RequestState   string                     `json:"requestState,omitempty"`
}

// CallToolResult is the result of a tools/call request. A result that
// asks the client for input instead sets ResultType to
// ResultTypeInputRequired and InputRequests, and no content.
type CallToolResult struct {
	Content           []Content               `json:"content"`
	StructuredContent json.RawMessage         `json:"structuredContent,omitempty"`
	IsError           bool                    `json:"isError,omitempty"`
	ResultType        string                  `json:"resultType,omitempty"`
	InputRequests     map[string]InputRequest `json:"inputRequests,omitempty"`
	RequestState      string                  `json:"requestState,omitempty"`
}

// ResultTypeInputRequired is the resultType of a result that asks the
// client for input (MCP 2026-07-28, input-required results).
const ResultTypeInputRequired = "input_required"

// InputRequest is one request an input-required result asks the client to
// answer: Method is one of the Input* methods and Params are that method's
// params in MCP. The client sends the request again with its answers in
// InputResponses under the same keys, and the RequestState the result
// carried, which the host checks before the plugin sees it.
type InputRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Methods an input request may name.
const (
	InputElicit        = "elicitation/create"
	InputCreateMessage = "sampling/createMessage"
	InputListRoots     = "roots/list"
)

// Content is one MCP content block. Text blocks set Text; image and audio
// blocks set Data (base64) and MIMEType; resource_link blocks set URI and
// Name (and MIMEType, Title, Description, Size if known); resource blocks
// embed a Resource. Other shapes pass through as raw JSON in the host.
type Content struct {
	Type        string            `json:"type"`
	Text        string            `json:"text,omitempty"`
	Data        string            `json:"data,omitempty"`
	MIMEType    string            `json:"mimeType,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Name        string            `json:"name,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Size        int64             `json:"size,omitempty"`
	Resource    *ResourceContents `json:"resource,omitempty"`
}

// Response is what moat_call returns: either a result of the method
// (decoded by the caller) or a protocol error.
type Response struct {
	Error *Error `json:"error,omitempty"`
}

// Error is a JSON-RPC protocol error a plugin returns instead of a result.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// JSON-RPC error codes a plugin is expected to use.
const (
	CodeInvalidParams  = -32602
	CodeMethodNotFound = -32601
	CodeInternalError  = -32603
	// CodeResourceNotFound answers resources/read for a URI the plugin
	// does not serve, as MCP does.
	CodeResourceNotFound = -32002
)

// HTTPRequest is the argument of http_request.
type HTTPRequest struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
	TimeoutMS  int               `json:"timeout_ms,omitempty"`
}

// HTTPResponse is what http_request returns.
type HTTPResponse struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
}
