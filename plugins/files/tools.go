package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	moat "github.com/moat-mcp/moat/sdk/go"
)

// Bounds that keep every answer under the host's default output cap of
// 1MiB, and every walk short.
const (
	maxReadBytes   = 256 << 10 // text read_file returns in one call
	maxEditBytes   = 4 << 20   // a file edit_file rewrites
	maxWriteBytes  = 4 << 20   // content write_file writes
	maxEntries     = 1000      // entries list_directory returns
	defaultResults = 100       // search_files matches, unless asked
	maxResults     = 1000
	maxVisited     = 100000  // entries search_files looks at
	maxSearchBytes = 2 << 20 // files larger are not searched for content
	maxMatchText   = 200     // characters of a matching line returned
)

// Entry is one item of a directory.
type Entry struct {
	Name string `json:"name"`
	Type string `json:"type"` // file, directory, symlink, fifo, socket, device or special
	Size int64  `json:"size,omitempty"`
}

// Listing is what list_directory returns.
type Listing struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
	// Truncated is set when the directory holds more than the entries shown.
	Truncated bool `json:"truncated,omitempty"`
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsRegular():
		return "file"
	}
	return "special"
}

// kindOf is the type of a file as this plugin reports it. Under WASI a FIFO
// or socket comes with no type, which Go shows as a regular file; it is
// "special" here.
func kindOf(fi fs.FileInfo) string {
	if unknownType(fi) {
		return "special"
	}
	return kind(fi.Mode())
}

// entryKind is the type of a directory entry, and its FileInfo when it
// takes one to tell (a regular file's, for its size).
func entryKind(de fs.DirEntry) (string, fs.FileInfo) {
	if !de.Type().IsRegular() {
		return kind(de.Type()), nil
	}
	fi, err := de.Info()
	if err != nil {
		return "file", nil
	}
	return kindOf(fi), fi
}

// notRegular refuses what is neither a regular file nor a directory:
// opening a FIFO waits for a writer, a device may never end, and the host
// serves neither. what is the action ("reading"), verb this tool's
// ("reads").
func notRegular(fi fs.FileInfo, what, p, verb string) error {
	var it string
	switch k := kindOf(fi); k {
	case "file", "directory":
		return nil
	case "fifo":
		it = "a FIFO (named pipe)"
	case "socket":
		it = "a socket"
	case "device":
		it = "a device"
	default:
		it = "a special file (a FIFO, socket or device)"
	}
	return fmt.Errorf("%s %s: it is %s, and this tool %s regular files only", what, p, it, verb)
}

func listDirectory(r roots, p string) (Listing, error) {
	p, err := r.open(p)
	if err != nil {
		return Listing{}, err
	}
	des, err := os.ReadDir(p)
	if err != nil {
		return Listing{}, fsError("listing "+p, err)
	}
	l := Listing{Path: p, Entries: []Entry{}}
	for _, de := range des {
		if len(l.Entries) == maxEntries {
			l.Truncated = true
			break
		}
		k, fi := entryKind(de)
		e := Entry{Name: de.Name(), Type: k}
		if fi != nil && k == "file" {
			e.Size = fi.Size()
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// readFile returns the text of a file, or of lines start to end of it
// (1-based, inclusive; 0 leaves either end open).
func readFile(r roots, p string, start, end int) (string, error) {
	p, err := r.open(p)
	if err != nil {
		return "", err
	}
	if start < 0 || end < 0 || end > 0 && end < max(start, 1) {
		return "", fmt.Errorf("lines %d to %d of %s make no range: start_line and end_line count from 1, and end_line may not come before start_line", start, end, p)
	}
	// Looked at before it is opened: opening a FIFO waits for a writer.
	if fi, err := os.Stat(p); err != nil {
		return "", fsError("reading "+p, err)
	} else if err := notRegular(fi, "reading", p, "reads"); err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fsError("reading "+p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fsError("reading "+p, err)
	}
	if err := notRegular(fi, "reading", p, "reads"); err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", fmt.Errorf("reading %s: it is a directory; use list_directory", p)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if head, _ := br.Peek(8000); bytes.IndexByte(head, 0) >= 0 {
		return "", fmt.Errorf("reading %s: it looks binary (it holds NUL bytes), and this tool reads text only", p)
	}
	if start == 0 && end == 0 {
		if fi.Size() > maxReadBytes {
			return "", fmt.Errorf("reading %s: it is %d bytes, more than the %d this tool returns at once; read it in parts with start_line and end_line", p, fi.Size(), maxReadBytes)
		}
		b, err := io.ReadAll(io.LimitReader(br, maxReadBytes+1))
		if err != nil {
			return "", fsError("reading "+p, err)
		}
		if len(b) > maxReadBytes {
			return "", fmt.Errorf("reading %s: it is more than %d bytes; read it in parts with start_line and end_line", p, maxReadBytes)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	start = max(start, 1)
	var out strings.Builder
	n := 0
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			n++
			if n >= start && (end == 0 || n <= end) {
				if out.Len()+len(line) > maxReadBytes {
					return "", fmt.Errorf("reading %s: lines %d to %d are more than %d bytes; ask for fewer lines (line %d is where that limit falls)", p, start, end, maxReadBytes, n)
				}
				out.WriteString(line)
			}
		}
		if err == io.EOF || end > 0 && n >= end {
			break
		}
		if err != nil {
			return "", fsError("reading "+p, err)
		}
	}
	if start > n {
		return "", fmt.Errorf("reading %s: start_line %d is past the end; the file has %d lines", p, start, n)
	}
	return strings.ToValidUTF8(out.String(), "\uFFFD"), nil
}

// Match is one result of search_files: a path whose name matches, or a
// line holding the text looked for.
type Match struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Line int    `json:"line,omitempty"`
	Text string `json:"text,omitempty"`
}

// Found is what search_files returns.
type Found struct {
	Matches []Match `json:"matches"`
	// Truncated is set when the search stopped at max_results or at the
	// number of entries it looks at; narrow it to see the rest.
	Truncated bool   `json:"truncated,omitempty"`
	Note      string `json:"note,omitempty"`
}

// searchFiles walks the tree under p (under every allowed directory when
// p is empty) for entries whose name matches the glob pattern (against the
// path from p when pattern holds a /), and, when content is given, for
// lines of those files that hold it, ignoring case. Links are reported,
// never followed.
func searchFiles(r roots, p, pattern, content string, limit int) (Found, error) {
	if pattern == "" && content == "" {
		return Found{}, errors.New("pass pattern (a name glob such as *.md), content (text to find in files), or both")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return Found{}, fmt.Errorf("pattern %q is not a valid glob (%v): use *, ? and [a-z], such as *.go", pattern, err)
	}
	switch {
	case limit == 0:
		limit = defaultResults
	case limit < 0 || limit > maxResults:
		return Found{}, fmt.Errorf("max_results is %d; use 1 to %d (default %d)", limit, maxResults, defaultResults)
	}
	dirs := []string{p}
	if p == "" {
		dirs = r
	}
	s := &search{pattern: pattern, needle: strings.ToLower(content), limit: limit, found: Found{Matches: []Match{}}}
	for _, dir := range dirs {
		dir, err := r.open(dir)
		if err != nil {
			return Found{}, err
		}
		if err := s.tree(dir); err != nil {
			return Found{}, err
		}
		if s.found.Truncated {
			break
		}
	}
	return s.found, nil
}

// search is one run of search_files, over one tree or several.
type search struct {
	pattern, needle string
	limit           int
	visited         int
	found           Found
}

var errFull = errors.New("full")

func (s *search) tree(root string) error {
	err := walk(root, func(name string, de fs.DirEntry) error {
		s.visited++
		if s.visited%256 == 0 && moat.Cancelled() {
			return errors.New("the call was cancelled")
		}
		if s.visited > maxVisited {
			s.found.Truncated = true
			s.found.Note = fmt.Sprintf("stopped after looking at %d entries; search a smaller directory", maxVisited)
			return errFull
		}
		if s.pattern != "" && !matchName(s.pattern, root, name) {
			return nil
		}
		f := &s.found
		k, _ := entryKind(de)
		if s.needle == "" {
			f.Matches = append(f.Matches, Match{Path: name, Type: k})
		} else if k == "file" {
			f.Matches = grep(f.Matches, name, s.needle, s.limit+1)
		}
		if len(f.Matches) > s.limit {
			f.Matches = f.Matches[:s.limit]
			f.Truncated = true
			f.Note = fmt.Sprintf("stopped at max_results=%d; narrow the search or raise max_results", s.limit)
			return errFull
		}
		return nil
	})
	if err == errFull {
		return nil
	}
	return err
}

// walk visits the tree under root in lexical order, root itself excluded,
// without following links. Unreadable directories are passed over.
func walk(root string, fn func(name string, de fs.DirEntry) error) error {
	des, err := os.ReadDir(root)
	if err != nil {
		return fsError("searching "+root, err)
	}
	var visit func(dir string, des []fs.DirEntry) error
	visit = func(dir string, des []fs.DirEntry) error {
		for _, de := range des {
			name := path.Join(dir, de.Name())
			if err := fn(name, de); err != nil {
				return err
			}
			if de.IsDir() {
				sub, err := os.ReadDir(name)
				if err != nil {
					continue
				}
				if err := visit(name, sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(root, des)
}

func matchName(pattern, root, name string) bool {
	if strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, strings.TrimPrefix(name, root+"/"))
		return ok
	}
	ok, _ := path.Match(pattern, path.Base(name))
	return ok
}

// grep appends the lines of file name that hold needle (lower case),
// up to limit matches in all. Binary and large files are skipped.
func grep(ms []Match, name, needle string, limit int) []Match {
	fi, err := os.Stat(name)
	if err != nil || kindOf(fi) != "file" || fi.Size() > maxSearchBytes {
		return ms
	}
	b, err := os.ReadFile(name)
	if err != nil || bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
		return ms
	}
	for i, line := range strings.Split(string(b), "\n") {
		if len(ms) >= limit {
			break
		}
		if strings.Contains(strings.ToLower(line), needle) {
			line = strings.ToValidUTF8(strings.TrimSpace(line), "\uFFFD")
			if r := []rune(line); len(r) > maxMatchText {
				line = string(r[:maxMatchText]) + "…"
			}
			ms = append(ms, Match{Path: name, Type: "file", Line: i + 1, Text: line})
		}
	}
	return ms
}

// Written is what write_file returns.
type Written struct {
	Path    string `json:"path"`
	Bytes   int    `json:"bytes"`
	Created bool   `json:"created"`
}

// writeFile creates or replaces a file, and the directories above it.
func writeFile(r roots, p, content string) (Written, error) {
	p, err := r.open(p)
	if err != nil {
		return Written{}, err
	}
	if len(content) > maxWriteBytes {
		return Written{}, fmt.Errorf("content is %d bytes; this tool writes at most %d at once", len(content), maxWriteBytes)
	}
	if slices.Contains(r, p) {
		return Written{}, fmt.Errorf("%s is an allowed directory itself; write a file inside it, such as %s", p, path.Join(p, "notes.txt"))
	}
	fi, err := os.Stat(p)
	created := errors.Is(err, fs.ErrNotExist)
	switch {
	case err == nil && fi.IsDir():
		return Written{}, fmt.Errorf("writing %s: it is a directory; name a file", p)
	case err == nil:
		if err := notRegular(fi, "writing", p, "writes"); err != nil {
			return Written{}, err
		}
	case !created:
		return Written{}, fsError("writing "+p, err)
	}
	if created {
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			return Written{}, fsError("creating the directories of "+p, err)
		}
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return Written{}, fsError("writing "+p, err)
	}
	return Written{Path: p, Bytes: len(content), Created: created}, nil
}

// Edited is what edit_file returns.
type Edited struct {
	Path         string `json:"path"`
	Replacements int    `json:"replacements"`
	// Lines are the lines, counted from 1 in the file as it was, where the
	// replaced text began.
	Lines []int `json:"lines"`
}

// editFile replaces oldText, which must occur exactly once unless all is
// set, with newText.
func editFile(r roots, p, oldText, newText string, all bool) (Edited, error) {
	p, err := r.open(p)
	if err != nil {
		return Edited{}, err
	}
	if oldText == "" {
		return Edited{}, errors.New("old_text is empty: pass the exact text to replace, copied from the file")
	}
	if oldText == newText {
		return Edited{}, errors.New("old_text and new_text are the same; there is nothing to change")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Edited{}, fsError("editing "+p, err)
	}
	if fi.IsDir() {
		return Edited{}, fmt.Errorf("editing %s: it is a directory; name a file", p)
	}
	if err := notRegular(fi, "editing", p, "edits"); err != nil {
		return Edited{}, err
	}
	if fi.Size() > maxEditBytes {
		return Edited{}, fmt.Errorf("editing %s: it is %d bytes, more than the %d this tool edits; rewrite it with write_file", p, fi.Size(), maxEditBytes)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return Edited{}, fsError("editing "+p, err)
	}
	text := string(b)
	if !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 {
		return Edited{}, fmt.Errorf("editing %s: it is not UTF-8 text, which this tool edits only", p)
	}
	var lines []int
	for i := 0; ; {
		j := strings.Index(text[i:], oldText)
		if j < 0 {
			break
		}
		lines = append(lines, 1+strings.Count(text[:i+j], "\n"))
		i += j + len(oldText)
	}
	switch {
	case len(lines) == 0:
		return Edited{}, fmt.Errorf("editing %s: old_text was not found; read the file and copy the text exactly, spaces, tabs and line breaks included", p)
	case len(lines) > 1 && !all:
		return Edited{}, fmt.Errorf("editing %s: old_text occurs %d times (at lines %s); include more of the surrounding text to make it unique, or set replace_all to replace every one", p, len(lines), joinInts(lines))
	}
	out := strings.ReplaceAll(text, oldText, newText)
	if err := os.WriteFile(p, []byte(out), fi.Mode().Perm()); err != nil {
		return Edited{}, fsError("editing "+p, err)
	}
	return Edited{Path: p, Replacements: len(lines), Lines: lines}, nil
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// FileInfo is what get_file_info returns.
type FileInfo struct {
	Path        string `json:"path"`
	Type        string `json:"type"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	Permissions string `json:"permissions"`
}

func fileInfo(r roots, p string) (FileInfo, error) {
	p, err := r.resolve(p)
	if err != nil {
		return FileInfo{}, err
	}
	if !slices.Contains(r, p) { // a link itself is described, not followed
		if err := r.noLinks(path.Dir(p)); err != nil {
			return FileInfo{}, err
		}
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return FileInfo{}, fsError("looking at "+p, err)
	}
	return FileInfo{
		Path:        p,
		Type:        kindOf(fi),
		Size:        fi.Size(),
		Modified:    fi.ModTime().UTC().Format(time.RFC3339),
		Permissions: fi.Mode().Perm().String(),
	}, nil
}
