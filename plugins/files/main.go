// Command files is a moat plugin that lists, reads, searches, writes and
// edits files in the folders an operator mounts for it, after the
// reference MCP filesystem server.
//
// The plugin asks for three mounts, /data, /docs and /workspace, each
// read-write; the operator mounts a host folder at any of them under
// plugins.files.grants.fs, read-only unless mode: rw, and the host gives
// the plugin only the mounts both asked for and granted. The plugin cannot
// ask the host which those are, so it looks: its allowed directories are
// the asked-for mounts that exist in its file system. Every path is
// checked to lie inside one of them: ".." is refused, and symbolic links
// are neither followed nor let out of a mount. A write to a read-only
// mount answers an error naming the grant.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o files.wasm ./plugins/files
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// requested are the mounts the plugin asks for. Each asks for rw, so that
// the operator's grant alone decides whether it is writable. No guest path
// may be a prefix of another: Go's WASI file system maps /database to the
// mount /data.
var requested = []abi.FSCapability{
	{Mount: "/data", Mode: "rw"},
	{Mount: "/docs", Mode: "rw"},
	{Mount: "/workspace", Mode: "rw"},
}

// allowed returns the allowed directories: the requested mounts that the
// host mounted.
func allowed() (roots, error) {
	var r roots
	for _, m := range requested {
		if fi, err := os.Stat(m.Mount); err == nil && fi.IsDir() {
			r = append(r, m.Mount)
		}
	}
	if len(r) == 0 {
		return nil, fmt.Errorf("%w: no folder is mounted for this plugin; an operator mounts one at %s in %s, such as {path: ./data, mount: /data, mode: rw}", errNoRoots, mountList(), grantKey())
	}
	return r, nil
}

func mountList() string {
	s := make([]string, len(requested))
	for i, m := range requested {
		s[i] = m.Mount
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

type pathIn struct {
	Path string `json:"path"`
}

type readIn struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
}

type searchIn struct {
	Path       string `json:"path"`
	Pattern    string `json:"pattern"`
	Content    string `json:"content"`
	MaxResults int    `json:"max_results"`
}

type writeIn struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

type editIn struct {
	Path       string `json:"path"`
	OldText    string `json:"old_text"`
	NewText    string `json:"new_text"`
	ReplaceAll bool   `json:"replace_all"`
}

// Allowed is what list_allowed_directories returns.
type Allowed struct {
	Directories []string `json:"directories"`
}

// withRoots runs a tool's logic with the allowed directories.
func withRoots[In, Out any](f func(r roots, in In) (Out, error)) func(*moat.Call, In) (Out, error) {
	return func(_ *moat.Call, in In) (Out, error) {
		r, err := allowed()
		if err != nil {
			var zero Out
			return zero, err
		}
		return f(r, in)
	}
}

func init() {
	moat.SetInfo(moat.Info{
		Name:         "files",
		Version:      "1.0.0",
		Description:  "Lists, reads, searches, writes and edits files in the folders the operator mounts.",
		Capabilities: abi.Capabilities{FS: requested},
	})
	yes, no := true, false
	read := &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no}
	moat.AddTool(moat.ToolDef{
		Name:         "list_allowed_directories",
		Title:        "List allowed directories",
		Description:  "List the directories this tool may use; every path must lie inside one of them.",
		InputSchema:  json.RawMessage(`{"type": "object", "properties": {}, "additionalProperties": false}`),
		OutputSchema: allowedSchema,
		Annotations:  read,
	}, withRoots(func(r roots, _ struct{}) (Allowed, error) {
		return Allowed{Directories: r}, nil
	}))
	moat.AddTool(moat.ToolDef{
		Name:         "list_directory",
		Title:        "List a directory",
		Description:  "List the files and directories in a directory, with their types and the sizes of files.",
		InputSchema:  pathInput("The directory to list, such as /data or /data/notes."),
		OutputSchema: listingSchema,
		Annotations:  read,
	}, withRoots(func(r roots, in pathIn) (Listing, error) {
		return listDirectory(r, in.Path)
	}))
	moat.AddTextTool(moat.ToolDef{
		Name:  "read_file",
		Title: "Read a file",
		Description: "Read a text file, whole or lines start_line to end_line (counted from 1, inclusive). " +
			"Large files must be read in parts.",
		InputSchema: readInput,
		Annotations: read,
	}, withRoots(func(r roots, in readIn) (string, error) {
		return readFile(r, in.Path, in.StartLine, in.EndLine)
	}))
	moat.AddTool(moat.ToolDef{
		Name:  "search_files",
		Title: "Search files",
		Description: "Search a directory tree for files and directories whose name matches a glob (pattern, such as *.md), " +
			"and for lines of files holding a text (content, ignoring case), or both; at most max_results matches.",
		InputSchema:  searchInput,
		OutputSchema: foundSchema,
		Annotations:  read,
	}, withRoots(func(r roots, in searchIn) (Found, error) {
		return searchFiles(r, in.Path, in.Pattern, in.Content, in.MaxResults)
	}))
	moat.AddTool(moat.ToolDef{
		Name:         "write_file",
		Title:        "Write a file",
		Description:  "Create a file, or replace all of an existing one, with the content given; missing directories are created.",
		InputSchema:  writeInput,
		OutputSchema: writtenSchema,
		Annotations:  &abi.ToolAnnotations{DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &no},
	}, withRoots(func(r roots, in writeIn) (Written, error) {
		return writeFile(r, in.Path, in.Content)
	}))
	moat.AddTool(moat.ToolDef{
		Name:  "edit_file",
		Title: "Edit a file",
		Description: "Replace an exact piece of text in a file with another. old_text must occur exactly once " +
			"(include surrounding lines to make it unique), unless replace_all is set; copy it from read_file, whitespace included.",
		InputSchema:  editInput,
		OutputSchema: editedSchema,
		Annotations:  &abi.ToolAnnotations{DestructiveHint: &yes, OpenWorldHint: &no},
	}, withRoots(func(r roots, in editIn) (Edited, error) {
		return editFile(r, in.Path, in.OldText, in.NewText, in.ReplaceAll)
	}))
	moat.AddTool(moat.ToolDef{
		Name:         "get_file_info",
		Title:        "Get file information",
		Description:  "Get the type, size, modification time and permissions of a file or directory.",
		InputSchema:  pathInput("The file or directory."),
		OutputSchema: fileInfoSchema,
		Annotations:  read,
	}, withRoots(func(r roots, in pathIn) (FileInfo, error) {
		return fileInfo(r, in.Path)
	}))
}

// main is never called in a reactor; the tools are registered by init.
func main() {}

func pathInput(desc string) json.RawMessage {
	d, _ := json.Marshal(desc)
	return json.RawMessage(`{"type": "object", "properties": {"path": {"type": "string", "description": ` + string(d) +
		`}}, "required": ["path"], "additionalProperties": false}`)
}

const pathProperty = `"path": {"type": "string", "description": "An absolute path inside an allowed directory, such as /data/notes.md; a relative one is taken from the first allowed directory."}`

var readInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		` + pathProperty + `,
		"start_line": {"type": "integer", "minimum": 1, "description": "The first line to return, counted from 1; the first line of the file if left out."},
		"end_line": {"type": "integer", "minimum": 1, "description": "The last line to return; the last line of the file if left out."}
	},
	"required": ["path"],
	"additionalProperties": false
}`)

var searchInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"path": {"type": "string", "description": "The directory to search under, such as /data; every allowed directory if left out."},
		"pattern": {"type": "string", "description": "A glob the name must match, such as *.md or report-202?.txt; with a /, matched against the path from the directory searched, such as docs/*.md."},
		"content": {"type": "string", "description": "Text the file's lines must hold, ignoring case; each matching line is a result."},
		"max_results": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100, "description": "The most matches to return."}
	},
	"additionalProperties": false
}`)

var writeInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		` + pathProperty + `,
		"content": {"type": "string", "description": "The whole new content of the file."}
	},
	"required": ["path", "content"],
	"additionalProperties": false
}`)

var editInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		` + pathProperty + `,
		"old_text": {"type": "string", "minLength": 1, "description": "The exact text to replace, whitespace and line breaks included."},
		"new_text": {"type": "string", "description": "The text to put in its place."},
		"replace_all": {"type": "boolean", "default": false, "description": "Replace every occurrence rather than requiring exactly one."}
	},
	"required": ["path", "old_text", "new_text"],
	"additionalProperties": false
}`)

var allowedSchema = json.RawMessage(`{
	"type": "object",
	"properties": {"directories": {"type": "array", "items": {"type": "string"}}},
	"required": ["directories"]
}`)

var listingSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"path": {"type": "string"},
		"entries": {"type": "array", "items": {
			"type": "object",
			"properties": {
				"name": {"type": "string"},
				"type": {"enum": ["file", "directory", "symlink", "fifo", "socket", "device", "special"], "description": "special: a FIFO, socket or device, as WASI shows them, which cannot tell them apart; none of these is read, searched or written."},
				"size": {"type": "integer", "description": "Bytes, for files."}
			},
			"required": ["name", "type"]
		}},
		"truncated": {"type": "boolean", "description": "Set when the directory holds more entries than shown."}
	},
	"required": ["path", "entries"]
}`)

var foundSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"matches": {"type": "array", "items": {
			"type": "object",
			"properties": {
				"path": {"type": "string"},
				"type": {"enum": ["file", "directory", "symlink", "fifo", "socket", "device", "special"], "description": "special: a FIFO, socket or device, as WASI shows them, which cannot tell them apart; none of these is read, searched or written."},
				"line": {"type": "integer", "description": "For a content match, the line number, from 1."},
				"text": {"type": "string", "description": "For a content match, the line, trimmed."}
			},
			"required": ["path", "type"]
		}},
		"truncated": {"type": "boolean"},
		"note": {"type": "string", "description": "Why the search stopped early, when it did."}
	},
	"required": ["matches"]
}`)

var writtenSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"path": {"type": "string"},
		"bytes": {"type": "integer"},
		"created": {"type": "boolean", "description": "True for a new file, false when one was replaced."}
	},
	"required": ["path", "bytes", "created"]
}`)

var editedSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"path": {"type": "string"},
		"replacements": {"type": "integer"},
		"lines": {"type": "array", "items": {"type": "integer"}, "description": "Where each replaced text began, in the file as it was."}
	},
	"required": ["path", "replacements", "lines"]
}`)

var fileInfoSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"path": {"type": "string"},
		"type": {"enum": ["file", "directory", "symlink", "fifo", "socket", "device", "special"], "description": "special: a FIFO, socket or device, as WASI shows them, which cannot tell them apart; none of these is read, searched or written."},
		"size": {"type": "integer"},
		"modified": {"type": "string", "format": "date-time"},
		"permissions": {"type": "string", "description": "Unix permission bits, such as -rw-r--r--."}
	},
	"required": ["path", "type", "size", "modified", "permissions"]
}`)
