package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	moat "github.com/moat-mcp/moat/sdk/go"
)

// notePrefix starts the kv key of every note: note/<key>.
const notePrefix = "note/"

// Bounds of what a note holds. The kv store takes keys up to 1 KiB and
// values up to 1 MiB; these leave room for the JSON around them.
const (
	maxKeyLen   = 200
	maxTitleLen = 500
	maxTextLen  = 256 << 10
	maxTags     = 32
	maxTagLen   = 64
)

// Note is one note as stored (JSON under note/<key>) and as returned.
type Note struct {
	Key     string   `json:"key"`
	Title   string   `json:"title,omitempty"`
	Text    string   `json:"text"`
	Tags    []string `json:"tags,omitempty"`
	Created string   `json:"created"`
	Updated string   `json:"updated"`
}

// Summary is a note in a list or a search result: all but the full text.
type Summary struct {
	Key     string   `json:"key"`
	Title   string   `json:"title,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Snippet string   `json:"snippet"`
	Updated string   `json:"updated"`
}

// storeError explains a failed kv call: without the grant the host's
// message names plugins.NAME.grants.kv, which the operator must add.
func storeError(op string, err error) error {
	var me *moat.Error
	if errors.As(err, &me) {
		switch {
		case errors.Is(err, moat.ErrPermission):
			return fmt.Errorf("%s: the note store is not available: %s (for example kv: {})", op, me.Message)
		case errors.Is(err, moat.ErrTooBig):
			return fmt.Errorf("%s: the note store is full or the note too big: %s; forget notes no longer needed, or an operator can raise the quota in the plugin's grants.kv", op, me.Message)
		case errors.Is(err, moat.ErrUnsupported):
			return fmt.Errorf("%s: %s: this plugin needs a moat host", op, me.Message)
		}
		return fmt.Errorf("%s: %s", op, me.Message)
	}
	return fmt.Errorf("%s: %v", op, err)
}

// checkKey accepts a key a model can type back: 1 to 200 characters, no
// control characters, no leading or trailing spaces.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("key is empty: name the note with a short key, such as project-deadlines")
	case !utf8.ValidString(key):
		return errors.New("key is not valid UTF-8")
	case utf8.RuneCountInString(key) > maxKeyLen:
		return fmt.Errorf("key has %d characters; keep it to %d", utf8.RuneCountInString(key), maxKeyLen)
	case strings.TrimSpace(key) != key:
		return fmt.Errorf("key %q starts or ends with a space; remove it", key)
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		return fmt.Errorf("key %q holds a control character; use letters, digits and punctuation", key)
	}
	return nil
}

// cleanTags trims tags, drops empty ones and duplicates, and keeps order.
func cleanTags(tags []string) ([]string, error) {
	if len(tags) > maxTags {
		return nil, fmt.Errorf("%d tags; keep it to %d", len(tags), maxTags)
	}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if utf8.RuneCountInString(t) > maxTagLen {
			return nil, fmt.Errorf("tag %q is longer than %d characters", t, maxTagLen)
		}
		out = append(out, t)
	}
	return out, nil
}

// newNote checks a note to remember under key and stamps it with now; old
// is the note it replaces, if any, whose creation time it keeps.
func newNote(key, title, text string, tags []string, old *Note, now time.Time) (Note, error) {
	if err := checkKey(key); err != nil {
		return Note{}, err
	}
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > maxTitleLen {
		return Note{}, fmt.Errorf("title is longer than %d characters; put the detail in text", maxTitleLen)
	}
	if strings.TrimSpace(text) == "" {
		return Note{}, errors.New("text is empty: pass what the note should say")
	}
	if len(text) > maxTextLen {
		return Note{}, fmt.Errorf("text is %d bytes; a note holds at most %d: split it into several notes", len(text), maxTextLen)
	}
	tags, err := cleanTags(tags)
	if err != nil {
		return Note{}, err
	}
	stamp := now.UTC().Format(time.RFC3339)
	n := Note{Key: key, Title: title, Text: text, Tags: tags, Created: stamp, Updated: stamp}
	if old != nil {
		n.Created = old.Created
	}
	return n, nil
}

// The kv side: each note is the JSON of a Note under note/<key>.

// remember stores a note, replacing any under the same key, and reports
// whether the key was new.
func remember(key, title, text string, tags []string, now time.Time) (Note, bool, error) {
	if err := checkKey(key); err != nil {
		return Note{}, false, err
	}
	var old *Note
	switch b, err := moat.KVGet(notePrefix + key); {
	case err == nil:
		if n, err := decodeNote(key, b); err == nil {
			old = &n
		} // a damaged note is replaced as if new
	case !errors.Is(err, moat.ErrNotFound):
		return Note{}, false, storeError("remembering "+quote(key), err)
	}
	n, err := newNote(key, title, text, tags, old, now)
	if err != nil {
		return Note{}, false, err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return Note{}, false, err
	}
	if err := moat.KVSet(notePrefix+key, b); err != nil {
		return Note{}, false, storeError("remembering "+quote(key), err)
	}
	return n, old == nil, nil
}

var errNoNote = errors.New("no note")

// recall returns the note under key.
func recall(key string) (Note, error) {
	if err := checkKey(key); err != nil {
		return Note{}, err
	}
	b, err := moat.KVGet(notePrefix + key)
	if errors.Is(err, moat.ErrNotFound) {
		return Note{}, fmt.Errorf("%w under key %s: search or list the notes to find its key", errNoNote, quote(key))
	}
	if err != nil {
		return Note{}, storeError("recalling "+quote(key), err)
	}
	return decodeNote(key, b)
}

func decodeNote(key string, b []byte) (Note, error) {
	var n Note
	if err := json.Unmarshal(b, &n); err != nil {
		return Note{}, fmt.Errorf("the note under key %s is damaged (%v); remember it again to replace it", quote(key), err)
	}
	n.Key = key
	return n, nil
}

// forget deletes the note under key and reports whether there was one.
func forget(key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	_, getErr := moat.KVGet(notePrefix + key)
	if getErr != nil && !errors.Is(getErr, moat.ErrNotFound) {
		return false, storeError("forgetting "+quote(key), getErr)
	}
	if err := moat.KVDelete(notePrefix + key); err != nil {
		return false, storeError("forgetting "+quote(key), err)
	}
	return getErr == nil, nil
}

// allNotes returns every note, in key order.
func allNotes() ([]Note, error) {
	keys, err := moat.KVList(notePrefix)
	if err != nil {
		return nil, storeError("listing notes", err)
	}
	notes := make([]Note, 0, len(keys))
	for _, k := range keys {
		n, err := recall(strings.TrimPrefix(k, notePrefix))
		if errors.Is(err, errNoNote) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		notes = append(notes, n)
	}
	return notes, nil
}

// Found is what search and list return.
type Found struct {
	Notes []Summary `json:"notes"`
	// Total is how many notes matched, of which Notes holds the first limit.
	Total int `json:"total"`
}

const (
	defaultLimit = 20
	maxLimit     = 200
)

// search finds the notes whose key, title, text or tags hold every word of
// query (case-insensitively), and that carry tag when one is given; the
// most recently updated come first.
func search(notes []Note, query, tag string, limit int) (Found, error) {
	limit, err := checkLimit(limit)
	if err != nil {
		return Found{}, err
	}
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 && tag == "" {
		return Found{}, errors.New("query is empty: pass words to look for, or a tag")
	}
	var hits []Note
	for _, n := range notes {
		if matches(n, words, tag) {
			hits = append(hits, n)
		}
	}
	slices.SortStableFunc(hits, func(a, b Note) int { return strings.Compare(b.Updated, a.Updated) })
	return summarize(hits, words, limit), nil
}

// list returns the notes in key order, only those with tag if one is given.
func list(notes []Note, tag string, limit int) (Found, error) {
	limit, err := checkLimit(limit)
	if err != nil {
		return Found{}, err
	}
	var kept []Note
	for _, n := range notes {
		if matches(n, nil, tag) {
			kept = append(kept, n)
		}
	}
	return summarize(kept, nil, limit), nil
}

func checkLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return defaultLimit, nil
	case limit < 0 || limit > maxLimit:
		return 0, fmt.Errorf("limit is %d; use 1 to %d (default %d)", limit, maxLimit, defaultLimit)
	}
	return limit, nil
}

func matches(n Note, words []string, tag string) bool {
	if tag != "" && !slices.ContainsFunc(n.Tags, func(t string) bool { return strings.EqualFold(t, strings.TrimSpace(tag)) }) {
		return false
	}
	hay := strings.ToLower(n.Key + "\n" + n.Title + "\n" + n.Text + "\n" + strings.Join(n.Tags, "\n"))
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func summarize(notes []Note, words []string, limit int) Found {
	f := Found{Notes: []Summary{}, Total: len(notes)}
	for _, n := range notes[:min(limit, len(notes))] {
		f.Notes = append(f.Notes, Summary{Key: n.Key, Title: n.Title, Tags: n.Tags, Snippet: snippet(n.Text, words), Updated: n.Updated})
	}
	return f
}

// snippet is up to 160 characters of text around the first word found, or
// from its start.
func snippet(text string, words []string) string {
	const width = 160
	r := []rune(text)
	start := 0
	lower := []rune(strings.ToLower(text))
	if len(lower) == len(r) {
		for _, w := range words {
			if i := strings.Index(string(lower), w); i >= 0 {
				start = max(utf8.RuneCountInString(string(lower)[:i])-width/4, 0)
				break
			}
		}
	}
	end := min(start+width, len(r))
	s := strings.Join(strings.Fields(string(r[start:end])), " ")
	if start > 0 {
		s = "…" + s
	}
	if end < len(r) {
		s += "…"
	}
	return s
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
