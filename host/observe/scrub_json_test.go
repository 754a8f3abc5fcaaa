package observe_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/observe"
)

// allStrings collects every string (keys included) in a decoded JSON value.
func allStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, e := range v {
			allStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			*out = append(*out, k)
			allStrings(e, out)
		}
	}
}

func TestScrubJSONKeepsJSONValid(t *testing.T) {
	secretValues := []string{
		`quo"te-secret`,
		`back\slash\`,
		"pässwörd-🔑",
		"<tok&en>",
		"line\nbreak\ttab\x01",
		"sep\u2028arator",
		"plain-token-123",
	}
	s := secrets(secretValues...)
	for _, secret := range secretValues {
		doc := map[string]any{
			"exact":  secret,
			"inside": "before " + secret + " after",
			"twice":  secret + secret,
			"list":   []any{1, secret, true},
			secret:   "as a key",
		}
		html, _ := json.Marshal(doc)
		var plain bytes.Buffer
		enc := json.NewEncoder(&plain)
		enc.SetEscapeHTML(false)
		enc.Encode(doc)
		for name, in := range map[string][]byte{"html-escaped": html, "unescaped": plain.Bytes()} {
			out := s.ScrubJSON(in)
			if !json.Valid(out) {
				t.Errorf("%q, %s: result is not JSON: %s", secret, name, out)
				continue
			}
			var v any
			json.Unmarshal(out, &v)
			var found []string
			allStrings(v, &found)
			for _, str := range found {
				if strings.Contains(str, secret) {
					t.Errorf("%q, %s: a value still holds the secret: %q", secret, name, str)
				}
			}
			m := v.(map[string]any)
			if m["exact"] != "[redacted]" || m["inside"] != "before [redacted] after" || m["twice"] != "[redacted][redacted]" {
				t.Errorf("%q, %s: scrubbed to %s", secret, name, out)
			}
			if _, ok := m["[redacted]"]; !ok {
				t.Errorf("%q, %s: the key was not scrubbed: %s", secret, name, out)
			}
		}
	}
}

func TestScrubJSONCatchesEveryEscapedForm(t *testing.T) {
	s := secrets("abc<d>", "tok\"en", "ünï")
	cases := map[string]string{
		// How encoders other than encoding/json may write the same values.
		`{"a":"\u0061\u0062\u0063\u003C\u0064\u003E"}`:             `{"a":"[redacted]"}`,
		`["x tok\u0022en y"]`:                                      `["x [redacted] y"]`,
		`{"u":"\u00fcn\u00ef!"}`:                                   `{"u":"[redacted]!"}`,
		`{"keep":"a\nb <> \u00e9", "n": 12, "t": true, "z": null}`: `{"keep":"a\nb <> \u00e9", "n": 12, "t": true, "z": null}`,
	}
	for in, want := range cases {
		if got := string(s.ScrubJSON([]byte(in))); got != want {
			t.Errorf("ScrubJSON(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestScrubJSONNumbersAndInvalidInput(t *testing.T) {
	s := secrets("12345678", "api-key-9")
	cases := map[string]string{
		`{"pin": 12345678, "other": 1234}`: `{"pin": "[redacted]", "other": 1234}`,
		`[-1.12345678e5]`:                  `["[redacted]"]`,
		`{"broken": "api-key-9"`:           `{"broken": "[redacted]"`, // not JSON: scrubbed as text
		`api-key-9 said 12345678`:          `[redacted] said [redacted]`,
	}
	for in, want := range cases {
		got := string(s.ScrubJSON([]byte(in)))
		if got != want {
			t.Errorf("ScrubJSON(%s) = %s, want %s", in, got, want)
		}
		if json.Valid([]byte(in)) && !json.Valid([]byte(got)) {
			t.Errorf("ScrubJSON(%s) = %s: no longer JSON", in, got)
		}
	}
}

func TestScrubJSONSecretInTheEscapesThemselves(t *testing.T) {
	// The value holds a newline, written `\n`; the secret is the text `b\nc`.
	s := secrets(`b\nc-`)
	in := []byte(`{"v":"ab\nc-d"}`)
	out := s.ScrubJSON(in)
	if bytes.Contains(out, []byte(`b\nc-`)) || !json.Valid(out) {
		t.Errorf("ScrubJSON(%s) = %s, want the value redacted and valid JSON", in, out)
	}
}

func TestScrubJSONReturnsInputWhenUnchanged(t *testing.T) {
	s := secrets("not-in-there")
	for _, in := range []string{`{"a":"b"}`, `{"a":"line\nbreak"}`, `not json at all`} {
		data := []byte(in)
		if out := s.ScrubJSON(data); &out[0] != &data[0] {
			t.Errorf("ScrubJSON(%s) copied a document it did not change", in)
		}
	}
	var none *observe.Secrets
	if out := none.ScrubJSON([]byte(`{}`)); string(out) != `{}` {
		t.Errorf("nil Secrets changed the document: %s", out)
	}
}

// A numeric secret written as another form of the same number (9.18e8)
// came out in full once moat's result was decoded and encoded again. A
// number that will be written as the secret is redacted; other numbers,
// and documents with only non-numeric secrets, are left alone.
func TestScrubJSONCatchesANumberWrittenAgain(t *testing.T) {
	s := secrets("918000000")
	for _, doc := range []string{
		`{"n":9.18e8}`, `{"n":918000000.0}`, `{"n":9.18E+08}`, `{"a":[1,91800000000e-2]}`, `{"n":918000000}`, `{"n":-9.18e8}`,
	} {
		out := s.ScrubJSON([]byte(doc))
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s: the result is not JSON: %s", doc, out)
		}
		again, _ := json.Marshal(v)
		if strings.Contains(string(again), "918000000") || !strings.Contains(string(out), `"[redacted]"`) {
			t.Errorf("%s became %s, written again %s; want the number redacted", doc, out, again)
		}
	}
	for _, doc := range []string{`{"n":9.18e7}`, `{"n":1.5,"b":true,"z":null}`} {
		if out := s.ScrubJSON([]byte(doc)); string(out) != doc {
			t.Errorf("%s became %s; want it unchanged", doc, out)
		}
	}
	// A secret that no number can hold keeps the fast path: the document
	// itself comes back.
	plain := secrets("tok-abc-123")
	doc := []byte(`{"n":9.18e8,"s":"x"}`)
	if out := plain.ScrubJSON(doc); &out[0] != &doc[0] {
		t.Errorf("a document without secrets was copied: %s", out)
	}
}
