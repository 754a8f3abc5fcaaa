package moat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/moat-mcp/moat/abi"
)

// The methods besides tools/call: resources/read, prompts/get and
// completion/complete. They are rarer than tool calls, so encoding/json
// reads their params and writes their results.

// decodeParams reads the params of method into v; a request that did not
// parse, or params of the wrong shape, is an invalid-params error.
func decodeParams(req request, perr error, v any) []byte {
	err := perr
	if err == nil {
		if len(req.params) == 0 || string(req.params) == "null" {
			err = errors.New("no params object")
		} else {
			err = json.Unmarshal(req.params, v)
		}
	}
	if err != nil {
		return protocolError(abi.CodeInvalidParams, fmt.Sprintf("malformed %s request: %v", req.method, err))
	}
	return nil
}

func readResource(req request, perr error) []byte {
	var p abi.ReadResourceParams
	if e := decodeParams(req, perr, &p); e != nil {
		return e
	}
	var (
		contents []abi.ResourceContents
		mimeType string
		err      error
		found    bool
	)
	if i := findResource(p.URI); i >= 0 {
		r := resources[i]
		found, mimeType = true, r.def.MIMEType
		err = guard(func() error {
			var err error
			contents, err = r.run(p.URI)
			return err
		})
	} else {
		for _, t := range templates {
			vars, ok := t.match.Match(p.URI)
			if !ok {
				continue
			}
			found, mimeType = true, t.def.MIMEType
			err = guard(func() error {
				var err error
				contents, err = t.run(p.URI, vars)
				return err
			})
			break
		}
	}
	switch {
	case !found || errors.Is(err, ErrResourceNotFound):
		return protocolError(abi.CodeResourceNotFound, "resource not found: "+p.URI)
	case err != nil:
		return protocolError(abi.CodeInternalError, err.Error())
	}
	res := abi.ReadResourceResult{Contents: make([]abi.ResourceContents, len(contents))}
	for i, c := range contents {
		if c.URI == "" {
			c.URI = p.URI
		}
		if c.MIMEType == "" {
			c.MIMEType = mimeType
		}
		res.Contents[i] = c
	}
	return encode(res)
}

func getPrompt(req request, perr error) []byte {
	var p abi.GetPromptParams
	if e := decodeParams(req, perr, &p); e != nil {
		return e
	}
	i := findPrompt(p.Name)
	if i < 0 {
		return protocolError(abi.CodeInvalidParams, fmt.Sprintf("unknown prompt %q", p.Name))
	}
	pr := prompts[i]
	for _, a := range pr.def.Arguments {
		if _, ok := p.Arguments[a.Name]; a.Required && !ok {
			return protocolError(abi.CodeInvalidParams, fmt.Sprintf("prompt %q needs the argument %q", p.Name, a.Name))
		}
	}
	if p.Arguments == nil {
		p.Arguments = map[string]string{}
	}
	var res *abi.GetPromptResult
	err := guard(func() error {
		var err error
		res, err = pr.run(&PromptCall{Name: p.Name, Arguments: p.Arguments, InputResponses: p.InputResponses, RequestState: p.RequestState})
		return err
	})
	if err != nil {
		return protocolError(abi.CodeInternalError, err.Error())
	}
	if res == nil {
		res = &abi.GetPromptResult{}
	}
	if res.Messages == nil {
		res.Messages = []abi.PromptMessage{}
	}
	return encode(res)
}

func complete(req request, perr error) []byte {
	var p abi.CompleteParams
	if e := decodeParams(req, perr, &p); e != nil {
		return e
	}
	name := p.Ref.Name
	if p.Ref.Type == abi.RefResource {
		name = p.Ref.URI
	}
	var res abi.CompleteResult
	if c := completions[completionKey{p.Ref.Type, name, p.Argument.Name}]; c != nil {
		var context map[string]string
		if p.Context != nil {
			context = p.Context.Arguments
		}
		var values []string
		// A completer that fails suggests nothing: completion is a
		// convenience, and MCP has the client carry on without it.
		guard(func() error {
			values = c(p.Argument.Value, context)
			return nil
		})
		if len(values) > abi.MaxCompletionValues {
			res.Completion.Total, res.Completion.HasMore = len(values), true
			values = values[:abi.MaxCompletionValues]
		}
		res.Completion.Values = values
	}
	return encode(res)
}

// guard runs a handler and turns a panic into an error.
func guard(run func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			os.Stderr.Write(debug.Stack())
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return run()
}

// encode writes a result as the other SDKs do: '<', '>' and '&' as they are.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return protocolError(abi.CodeInternalError, "encoding the result: "+err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
