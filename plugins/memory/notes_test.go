package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

var (
	monday  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tuesday = monday.Add(24 * time.Hour)
)

func TestNewNote(t *testing.T) {
	n, err := newNote("trip", "  Trip to Lisbon ", "Flights on the 3rd.", []string{" travel", "travel", "", "2026"}, nil, monday)
	want := Note{Key: "trip", Title: "Trip to Lisbon", Text: "Flights on the 3rd.", Tags: []string{"travel", "2026"}, Created: "2026-03-02T09:00:00Z", Updated: "2026-03-02T09:00:00Z"}
	if err != nil || !equal(n, want) {
		t.Fatalf("newNote = %+v, %v; want %+v", n, err, want)
	}
	// Replacing a note keeps when it was first remembered.
	n2, err := newNote("trip", "", "Flights moved to the 4th.", nil, &n, tuesday)
	if err != nil || n2.Created != "2026-03-02T09:00:00Z" || n2.Updated != "2026-03-03T09:00:00Z" || n2.Title != "" || n2.Tags != nil {
		t.Fatalf("replacing: %+v, %v", n2, err)
	}
}

func TestNewNoteRefuses(t *testing.T) {
	for _, c := range []struct {
		key, text string
		tags      []string
		want      string
	}{
		{"", "x", nil, "key is empty"},
		{" padded", "x", nil, "starts or ends with a space"},
		{"a\nb", "x", nil, "control character"},
		{strings.Repeat("k", 201), "x", nil, "key has 201 characters; keep it to 200"},
		{"k", "  ", nil, "text is empty"},
		{"k", strings.Repeat("x", maxTextLen+1), nil, "split it into several notes"},
		{"k", "x", make([]string, 33), "33 tags; keep it to 32"},
	} {
		if _, err := newNote(c.key, "", c.text, c.tags, nil, monday); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("newNote(%.20q, %.20q): %v; want %q", c.key, c.text, err, c.want)
		}
	}
}

var shelf = []Note{
	{Key: "coffee", Title: "How Ana takes coffee", Text: "Oat milk, no sugar.", Tags: []string{"ana", "prefs"}, Updated: "2026-03-01T00:00:00Z"},
	{Key: "deploy", Title: "Deploy steps", Text: "Run make release, then tag the commit. Ana approves releases.", Tags: []string{"work"}, Updated: "2026-03-03T00:00:00Z"},
	{Key: "wifi", Text: "The office Wi-Fi password is on the fridge.", Tags: []string{"work", "office"}, Updated: "2026-03-02T00:00:00Z"},
}

func keysOf(f Found) string {
	var k []string
	for _, s := range f.Notes {
		k = append(k, s.Key)
	}
	return strings.Join(k, ",")
}

func TestSearch(t *testing.T) {
	for _, c := range []struct {
		query, tag string
		limit      int
		want       string
		total      int
	}{
		{"ana", "", 0, "deploy,coffee", 2},   // text or title, newest first
		{"ANA releases", "", 0, "deploy", 1}, // every word, any case
		{"office", "", 0, "wifi", 1},         // a tag
		{"", "work", 0, "deploy,wifi", 2},    // a tag alone
		{"fridge", "Work", 0, "wifi", 1},     // tags compare without case
		{"coffee", "work", 0, "", 0},         // the key, but not the tag
		{"e", "", 1, "deploy", 3},            // limited, with the total
		{"nothing like it", "", 0, "", 0},
	} {
		f, err := search(shelf, c.query, c.tag, c.limit)
		if err != nil || keysOf(f) != c.want || f.Total != c.total {
			t.Errorf("search(%q, %q, %d) = %q (total %d), %v; want %q (total %d)", c.query, c.tag, c.limit, keysOf(f), f.Total, err, c.want, c.total)
		}
	}
	if _, err := search(shelf, " ", "", 0); err == nil || !strings.Contains(err.Error(), "query is empty") {
		t.Errorf("an empty query: %v", err)
	}
	if _, err := search(shelf, "x", "", 500); err == nil || !strings.Contains(err.Error(), "limit is 500; use 1 to 200") {
		t.Errorf("a limit too high: %v", err)
	}
}

func TestListKeepsKeyOrder(t *testing.T) {
	f, err := list(shelf, "", 0)
	if err != nil || keysOf(f) != "coffee,deploy,wifi" || f.Total != 3 || f.Notes[0].Snippet != "Oat milk, no sugar." {
		t.Fatalf("list = %+v, %v", f, err)
	}
	if f, _ := list(shelf, "prefs", 0); keysOf(f) != "coffee" {
		t.Errorf("list by tag = %q", keysOf(f))
	}
	if f, _ := list(nil, "", 0); f.Notes == nil || f.Total != 0 {
		t.Errorf("an empty list must encode as [], not null: %+v", f)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 40) + "NEEDLE here " + strings.Repeat("dolor ", 40)
	s := snippet(long, []string{"needle"})
	if !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "NEEDLE here") {
		t.Errorf("snippet around a word = %q", s)
	}
	if s := snippet("short\n\ntext", nil); s != "short text" {
		t.Errorf("snippet of short text = %q", s)
	}
}

// The tools as registered. Outside a moat host kv is unsupported, which
// shows the error a model gets when the store is missing.
func TestRegisteredTools(t *testing.T) {
	d := moat.Describe()
	var names []string
	for _, tool := range d.Tools {
		names = append(names, tool.Name)
		for _, s := range []json.RawMessage{tool.InputSchema, tool.OutputSchema} {
			if !json.Valid(s) {
				t.Errorf("%s: invalid schema %s", tool.Name, s)
			}
		}
		a := tool.Annotations
		writes := tool.Name == "remember" || tool.Name == "forget"
		if a.ReadOnlyHint == writes || writes && (a.DestructiveHint == nil || !*a.DestructiveHint) {
			t.Errorf("%s: annotations %+v do not say whether it writes", tool.Name, a)
		}
	}
	if d.Name != "memory" || strings.Join(names, ",") != "remember,recall,search,list,forget" || !d.Capabilities.KV {
		t.Fatalf("description: %s, tools %v, capabilities %+v", d.Name, names, d.Capabilities)
	}
	var res abi.CallToolResult
	out := moat.Handle([]byte(`{"method":"tools/call","params":{"name":"recall","arguments":{"key":"x"}}}`))
	if err := json.Unmarshal(out, &res); err != nil || !res.IsError || !strings.Contains(res.Content[0].Text, `recalling "x"`) {
		t.Fatalf("recall outside a host: %s", out)
	}
}

func equal(a, b Note) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
