// Command memory is a moat plugin that gives a model a memory that outlasts
// its sessions: notes it remembers, recalls, searches, lists and forgets,
// kept in the plugin's kv namespace on the host.
//
// Each note is stored as JSON ({"key","title","text","tags","created",
// "updated"}) under the kv key "note/" + its key; nothing else is stored,
// so other prefixes stay free for later uses.
//
// It asks for kv, which the operator grants under plugins.memory.grants.kv
// (kv: {} is enough; the built-in configuration grants it). Without the
// grant every tool answers an error naming it.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o memory.wasm ./plugins/memory
package main

import (
	"encoding/json"
	"time"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

type rememberIn struct {
	Key   string   `json:"key"`
	Title string   `json:"title"`
	Text  string   `json:"text"`
	Tags  []string `json:"tags"`
}

// Remembered is what remember returns.
type Remembered struct {
	Key     string `json:"key"`
	Created bool   `json:"created"`
	Updated string `json:"updated"`
}

type keyIn struct {
	Key string `json:"key"`
}

// Forgotten is what forget returns.
type Forgotten struct {
	Key     string `json:"key"`
	Deleted bool   `json:"deleted"`
}

type searchIn struct {
	Query string `json:"query"`
	Tag   string `json:"tag"`
	Limit int    `json:"limit"`
}

type listIn struct {
	Tag   string `json:"tag"`
	Limit int    `json:"limit"`
}

func init() {
	moat.SetInfo(moat.Info{
		Name:         "memory",
		Version:      "1.0.0",
		Description:  "Notes a model keeps between sessions: remember, recall, search, list and forget.",
		Capabilities: abi.Capabilities{KV: true},
	})
	yes, no := true, false
	moat.AddTool(moat.ToolDef{
		Name:  "remember",
		Title: "Remember a note",
		Description: "Store a note under a short key, to recall in this or a later session. A note under the same key " +
			"is replaced. Use it for facts, preferences and decisions worth keeping.",
		InputSchema:  rememberInput,
		OutputSchema: rememberedSchema,
		Annotations:  &abi.ToolAnnotations{DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &no},
	}, func(_ *moat.Call, in rememberIn) (Remembered, error) {
		n, created, err := remember(in.Key, in.Title, in.Text, in.Tags, time.Now())
		return Remembered{Key: n.Key, Created: created, Updated: n.Updated}, err
	})
	moat.AddTool(moat.ToolDef{
		Name:         "recall",
		Title:        "Recall a note",
		Description:  "Return the whole note stored under a key.",
		InputSchema:  keyInput("The key of the note."),
		OutputSchema: noteSchema,
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, func(_ *moat.Call, in keyIn) (Note, error) {
		return recall(in.Key)
	})
	moat.AddTool(moat.ToolDef{
		Name:  "search",
		Title: "Search notes",
		Description: "Find notes whose key, title, text or tags contain every word of the query (ignoring case), " +
			"optionally only those with a tag; the most recently updated first, each with a snippet. Recall a note for its whole text.",
		InputSchema:  searchInput,
		OutputSchema: foundSchema,
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, func(_ *moat.Call, in searchIn) (Found, error) {
		notes, err := allNotes()
		if err != nil {
			return Found{}, err
		}
		return search(notes, in.Query, in.Tag, in.Limit)
	})
	moat.AddTool(moat.ToolDef{
		Name:         "list",
		Title:        "List notes",
		Description:  "List the notes by key, optionally only those with a tag, each with a snippet.",
		InputSchema:  listInput,
		OutputSchema: foundSchema,
		Annotations:  &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, func(_ *moat.Call, in listIn) (Found, error) {
		notes, err := allNotes()
		if err != nil {
			return Found{}, err
		}
		return list(notes, in.Tag, in.Limit)
	})
	moat.AddTool(moat.ToolDef{
		Name:         "forget",
		Title:        "Forget a note",
		Description:  "Delete the note stored under a key, for good.",
		InputSchema:  keyInput("The key of the note to delete."),
		OutputSchema: forgottenSchema,
		Annotations:  &abi.ToolAnnotations{DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &no},
	}, func(_ *moat.Call, in keyIn) (Forgotten, error) {
		deleted, err := forget(in.Key)
		return Forgotten{Key: in.Key, Deleted: deleted}, err
	})
}

// main is never called in a reactor; the tools are registered by init.
func main() {}

func keyInput(desc string) json.RawMessage {
	b, _ := json.Marshal(desc)
	return json.RawMessage(`{"type": "object", "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 200, "description": ` +
		string(b) + `}}, "required": ["key"], "additionalProperties": false}`)
}

const tagsProperty = `{"type": "array", "items": {"type": "string"}, "maxItems": 32, "description": "Labels to find the note by, such as project names."}`

var rememberInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"key": {"type": "string", "minLength": 1, "maxLength": 200, "description": "A short, memorable name for the note, such as user-preferences or project-x-deadline."},
		"title": {"type": "string", "maxLength": 500, "description": "A one-line summary."},
		"text": {"type": "string", "minLength": 1, "description": "What to remember."},
		"tags": ` + tagsProperty + `
	},
	"required": ["key", "text"],
	"additionalProperties": false
}`)

var searchInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"query": {"type": "string", "description": "Words to look for; every one must occur. May be empty when tag is given."},
		"tag": {"type": "string", "description": "Only notes with this tag."},
		"limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20, "description": "The most notes to return."}
	},
	"additionalProperties": false
}`)

var listInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"tag": {"type": "string", "description": "Only notes with this tag."},
		"limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20, "description": "The most notes to return."}
	},
	"additionalProperties": false
}`)

var rememberedSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"key": {"type": "string"},
		"created": {"type": "boolean", "description": "True if no note had this key before; false if one was replaced."},
		"updated": {"type": "string", "format": "date-time"}
	},
	"required": ["key", "created", "updated"]
}`)

var noteSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"key": {"type": "string"},
		"title": {"type": "string"},
		"text": {"type": "string"},
		"tags": {"type": "array", "items": {"type": "string"}},
		"created": {"type": "string", "format": "date-time"},
		"updated": {"type": "string", "format": "date-time"}
	},
	"required": ["key", "text", "created", "updated"]
}`)

var foundSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"notes": {"type": "array", "items": {
			"type": "object",
			"properties": {
				"key": {"type": "string"},
				"title": {"type": "string"},
				"tags": {"type": "array", "items": {"type": "string"}},
				"snippet": {"type": "string"},
				"updated": {"type": "string", "format": "date-time"}
			},
			"required": ["key", "snippet", "updated"]
		}},
		"total": {"type": "integer", "description": "How many notes matched; notes holds the first limit of them."}
	},
	"required": ["notes", "total"]
}`)

var forgottenSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"key": {"type": "string"},
		"deleted": {"type": "boolean", "description": "False if there was no note under the key."}
	},
	"required": ["key", "deleted"]
}`)
