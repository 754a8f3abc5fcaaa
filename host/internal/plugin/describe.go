package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/moat-mcp/moat/abi"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// toolName is what MCP allows in a tool name (2025-11-25): 1 to 128
// letters, digits, '_', '-' and '.'.
var toolName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// maxTools bounds how many tools one plugin may declare.
const maxTools = 256

// maxText bounds a tool's title or description, and the plugin's.
const maxText = 8 << 10

// maxVersion bounds the plugin's version.
const maxVersion = 128

// quoteClipped quotes text of the plugin's for an error, cut short.
func quoteClipped(text string) string { return strconv.Quote(clip(text, maxVersion)) }

// parseDescription checks what moat_describe returned and compiles the
// tools' schemas. Its errors say which tool and what is wrong.
func parseDescription(plugin, prefix string, raw []byte) (*abi.Description, []*Tool, error) {
	var d abi.Description
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, nil, fmt.Errorf("moat_describe returned invalid JSON (%v); it must return the description object of docs/ABI.md", err)
	}
	// The version goes into moat's log and `moat inspect` as it is.
	if len(d.Version) > maxVersion || strings.IndexFunc(d.Version, unicode.IsControl) >= 0 {
		return nil, nil, fmt.Errorf("its version %s is not a version moat can show: write at most %d characters without control characters, such as 1.2.0", quoteClipped(d.Version), maxVersion)
	}
	if len(d.Description) > maxText {
		return nil, nil, fmt.Errorf("its description is %d bytes, longer than %d", len(d.Description), maxText)
	}
	if len(d.Tools) > maxTools {
		return nil, nil, fmt.Errorf("describes %d tools, more than moat allows (%d); split it into plugins with one responsibility each", len(d.Tools), maxTools)
	}
	seen := map[string]bool{}
	tools := make([]*Tool, 0, len(d.Tools))
	probe := mcp.NewServer(&mcp.Implementation{Name: "moat-describe-check"}, nil)
	for i, def := range d.Tools {
		where := fmt.Sprintf("tool %q", def.Name)
		if def.Name == "" {
			where = fmt.Sprintf("tool #%d", i+1)
		}
		full := prefix + def.Name
		switch {
		case !toolName.MatchString(def.Name):
			return nil, nil, fmt.Errorf("%s: a tool name must be 1 to 128 letters, digits, '_', '-' or '.'", where)
		case !toolName.MatchString(full):
			return nil, nil, fmt.Errorf("%s: with its prefix the name %q is longer than 128 characters; set a shorter prefix", where, full)
		case seen[def.Name]:
			return nil, nil, fmt.Errorf("%s is described twice; tool names must be unique", where)
		case len(def.Description) > maxText || len(def.Title) > maxText:
			return nil, nil, fmt.Errorf("%s: its title or description is longer than %d bytes", where, maxText)
		}
		seen[def.Name] = true
		if e := def.Execution; e != nil {
			switch e.TaskSupport {
			case "", abi.TaskSupportForbidden, abi.TaskSupportOptional, abi.TaskSupportRequired:
			default:
				return nil, nil, fmt.Errorf("%s: execution.taskSupport is %s; use %q, %q or %q", where, quoteClipped(e.TaskSupport), abi.TaskSupportForbidden, abi.TaskSupportOptional, abi.TaskSupportRequired)
			}
		}
		if len(def.InputSchema) == 0 {
			return nil, nil, fmt.Errorf(`%s has no inputSchema; declare one, {"type": "object"} for a tool without arguments`, where)
		}
		input, err := compileSchema(def.InputSchema, schemaID(plugin, def.Name, "input"), true)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: inputSchema %v", where, err)
		}
		var output *jsonschema.Schema
		if len(def.OutputSchema) > 0 {
			if output, err = compileSchema(def.OutputSchema, schemaID(plugin, def.Name, "output"), true); err != nil {
				return nil, nil, fmt.Errorf("%s: outputSchema %v", where, err)
			}
		}
		if err := servable(probe, full, def); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", where, err)
		}
		tools = append(tools, &Tool{Name: full, Def: def, input: input, output: output})
	}
	return &d, tools, nil
}

// servable registers the tool with a throwaway MCP server, as the host's
// server will. The go-sdk panics on a tool it cannot serve (an
// x-mcp-header on a property that is not a string, integer or boolean, say);
// a plugin must be refused here, at load, rather than take the host down
// when its tools are added.
func servable(probe *mcp.Server, name string, def abi.Tool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := strings.TrimPrefix(fmt.Sprint(r), fmt.Sprintf("AddTool %q: ", name))
			err = fmt.Errorf("the MCP server cannot serve it (%s); fix its inputSchema or outputSchema", msg)
		}
	}()
	t := &mcp.Tool{Name: name, InputSchema: def.InputSchema}
	if len(def.OutputSchema) > 0 {
		t.OutputSchema = def.OutputSchema
	}
	probe.AddTool(t, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil })
	return nil
}

func schemaID(plugin, tool, which string) string {
	return fmt.Sprintf("moat://plugins/%s/tools/%s/%s", plugin, tool, which)
}
