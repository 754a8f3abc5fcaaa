package moat

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/moat-mcp/moat/abi"
)

// Describe returns the plugin's description, as moat_describe sends it.
func Describe() abi.Description {
	d := abi.Description{
		Name:         info.Name,
		Version:      info.Version,
		Description:  info.Description,
		Tools:        make([]abi.Tool, len(tools)),
		Capabilities: info.Capabilities,
	}
	for i, t := range tools {
		d.Tools[i] = t.def
	}
	return d
}

// Handle answers one moat_call request with the response JSON: the method's
// result or a protocol error. The moat_call export calls it; tests of a
// plugin may call it too, on any platform.
func Handle(request []byte) []byte {
	req, err := parseRequest(request)
	if req.method != abi.MethodToolsCall {
		if req.method == "" && err != nil {
			return protocolError(abi.CodeInvalidParams, "malformed request: "+err.Error())
		}
		return protocolError(abi.CodeMethodNotFound, fmt.Sprintf("method %q is not supported by this plugin", req.method))
	}
	if err != nil {
		return protocolError(abi.CodeInvalidParams, "malformed tools/call request: "+err.Error())
	}
	i, ok := index[req.name]
	if !ok {
		return protocolError(abi.CodeInvalidParams, fmt.Sprintf("unknown tool %q", req.name))
	}
	if string(req.args) == "null" {
		req.args = nil
	}
	res := invoke(tools[i].run, &Call{Tool: req.name, Arguments: req.args, Meta: req.meta})
	if res.Content == nil {
		res.Content = []abi.Content{}
	}
	b, err := appendResult(nil, res)
	if err != nil {
		return protocolError(abi.CodeInternalError, fmt.Sprintf("tool %q: encoding its result: %v", req.name, err))
	}
	return b
}

// invoke runs a handler and turns its error or panic into an isError result.
func invoke(h handler, c *Call) (res *abi.CallToolResult) {
	defer func() {
		if v := recover(); v != nil {
			os.Stderr.Write(debug.Stack())
			res = ErrorResult("tool %q panicked: %v", c.Tool, v)
		}
	}()
	res, err := h(c)
	if err != nil {
		return ErrorResult("%s", err.Error())
	}
	if res == nil {
		res = &abi.CallToolResult{}
	}
	return res
}

func protocolError(code int, msg string) []byte {
	b, _ := json.Marshal(abi.Response{Error: &abi.Error{Code: code, Message: msg}})
	return b
}
