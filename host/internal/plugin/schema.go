package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// refusingLoader is the schema compiler's loader: a plugin's schema may not
// make the host read a file or fetch a URL through $ref.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %s: a tool's schema must be self-contained (use $defs), moat loads no external schemas", url)
}

// compileSchema checks that raw is a JSON Schema object (draft 2020-12 by
// default) and compiles it. wantObject requires "type": "object", as MCP
// does of an inputSchema and outputSchema.
func compileSchema(raw json.RawMessage, id string, wantObject bool) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("is not JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("is not a JSON object")
	}
	if wantObject && obj["type"] != "object" {
		return nil, fmt.Errorf(`must have "type": "object" (MCP requires it), got %v`, obj["type"])
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refusingLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("is not a valid JSON Schema: %s", oneLine(err.Error()))
	}
	return s, nil
}

// validateJSON checks data against s and returns what is wrong, one
// problem per field, or "" when it is valid.
func validateJSON(s *jsonschema.Schema, data json.RawMessage) string {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return "not valid JSON: " + err.Error()
	}
	err = s.Validate(v)
	if err == nil {
		return ""
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	var problems []string
	for _, unit := range ve.BasicOutput().Errors {
		if unit.Error == nil {
			continue
		}
		field := strings.TrimPrefix(unit.InstanceLocation, "/")
		msg := unit.Error.String()
		if field == "" {
			problems = append(problems, msg)
		} else {
			problems = append(problems, fmt.Sprintf("%s: %s", strings.ReplaceAll(field, "/", "."), msg))
		}
	}
	if len(problems) == 0 {
		return oneLine(ve.Error())
	}
	return strings.Join(problems, "; ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
