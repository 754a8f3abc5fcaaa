package observe

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// redacted is what every occurrence of a secret becomes.
const redacted = "[redacted]"

// minSecretLen is the shortest value Add accepts; Add says why.
const minSecretLen = 4

// Secrets is a set of values that must never leave the host. It is safe for
// concurrent use: Add swaps in a new immutable set, so Scrub takes no lock.
// The zero value holds no secrets and is ready to use; a nil *Secrets also
// holds none and may be scrubbed with, but not added to.
type Secrets struct {
	mu  sync.Mutex // serialises Add, so concurrent Adds do not lose each other
	set atomic.Pointer[secretSet]
}

// NewSecrets returns an empty set of secrets.
func NewSecrets() *Secrets { return &Secrets{} }

// Add adds values to the set, ignoring those already held and those shorter
// than 4 bytes. A value of one to three bytes ("1", "yes", "abc") turns up
// inside ordinary words, numbers and JSON everywhere, so redacting it would
// wreck every result and log line, while so short a value is no secret
// worth the name: it can be guessed in a moment. Keep such values out of
// what the host prints instead.
//
// A value of several lines is also held line by line (each line of 8 bytes
// or more, trimmed): a plugin that prints a key one line at a time, or
// whose output is cut into log lines, must not get any line of it out.
func (s *Secrets) Add(values ...string) {
	for _, v := range values {
		if !strings.ContainsAny(v, "\r\n") {
			continue
		}
		for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); len(line) >= minSecretLine {
				values = append(values, line)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set.Store(s.set.Load().with(values))
}

// minSecretLine is the shortest line of a multi-line secret held on its
// own: shorter lines of a PEM block or a JSON key file ("-----", "}") are
// everywhere in ordinary text, and redacting them would garble it.
const minSecretLine = 8

// WithExtra returns a view holding s's secrets as they are now plus values,
// for secrets that belong to one request, such as the caller's own bearer
// token. It costs a copy of the list of secrets, no index is rebuilt. The
// parent never sees the extras, and later Adds to either side do not reach
// the other.
func (s *Secrets) WithExtra(values ...string) *Secrets {
	v := &Secrets{}
	v.set.Store(s.load().with(values))
	return v
}

// Len reports how many distinct secrets s holds.
func (s *Secrets) Len() int {
	if set := s.load(); set != nil {
		return len(set.secrets)
	}
	return 0
}

// Scrub returns text with every occurrence of every secret replaced by
// "[redacted]". It also catches a secret as it is written inside a JSON
// string or a Go-quoted string (%q), so a secret holding a quote or a
// backslash is caught in error messages too. Where occurrences overlap,
// the whole overlapping stretch becomes one "[redacted]", so a longer
// secret is never half-shown because a shorter one is its prefix.
//
// With no secret in text, Scrub returns text itself without allocating.
// Its cost grows with the number of secrets times the length of text: one
// vectorised substring search per secret and form.
func (s *Secrets) Scrub(text string) string {
	spans := s.load().find(text)
	if spans == nil {
		return text
	}
	return string(appendRedacted(nil, text, spans))
}

// Writer returns a writer that scrubs each Write before passing it to w,
// for a log destination. Each Write is scrubbed on its own, so a secret
// split across two Writes is not caught; hclog writes each line whole. JSON
// lines stay valid JSON (see ScrubJSON). Write reports len(p) on success,
// whatever the length of the scrubbed bytes.
func (s *Secrets) Writer(w io.Writer) io.Writer { return &scrubWriter{s: s, w: w} }

type scrubWriter struct {
	s *Secrets
	w io.Writer
}

func (sw *scrubWriter) Write(p []byte) (int, error) {
	if _, err := sw.w.Write(sw.s.ScrubJSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *Secrets) load() *secretSet {
	if s == nil {
		return nil
	}
	return s.set.Load()
}

// secretSet is never changed once stored: with builds a new one, so readers
// need no lock and views may share a parent's set. A nil *secretSet is empty,
// and a non-nil one holds at least one secret.
type secretSet struct {
	secrets []string // distinct values, for Len and duplicate checks
	needles []string // every form of every secret to search for, distinct
	// numeric is set when some secret could be part of a number as JSON
	// writes one, so ScrubJSON must look at numbers as they will be
	// written again (see ScrubJSON).
	numeric bool
}

// with returns set plus values, or set itself when values add nothing.
func (set *secretSet) with(values []string) *secretSet {
	next := set
	for _, v := range values {
		if len(v) < minSecretLen || (next != nil && slices.Contains(next.secrets, v)) {
			continue
		}
		if next == set {
			// Copy before appending: the parent's slices may be shared by
			// other views appending at the same time.
			next = &secretSet{}
			if set != nil {
				next.secrets = slices.Clone(set.secrets)
				next.needles = slices.Clone(set.needles)
			}
		}
		next.secrets = append(next.secrets, v)
		next.numeric = next.numeric || numberish(v)
		for _, f := range forms(v) {
			if !slices.Contains(next.needles, f) {
				next.needles = append(next.needles, f)
			}
		}
	}
	return next
}

// numberish reports whether v holds only what a JSON number is written
// with, so that writing a number can produce it.
func numberish(v string) bool {
	return strings.Trim(v, "0123456789.eE+-") == ""
}

// forms lists the ways v is written: as is, inside a JSON string (encoding/json
// escapes <, > and & by default, many encoders do not), and inside a Go
// quoted string. For plain ASCII letters and digits all forms are v.
func forms(v string) []string {
	out := []string{v}
	add := func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, q := range []string{jsonQuote(v, true), jsonQuote(v, false), strconv.Quote(v)} {
		add(q[1 : len(q)-1])
	}
	return out
}

// jsonQuote encodes v as a JSON string, with or without escaping <, > and &.
func jsonQuote(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// span is a stretch of text to redact, [start, end).
type span struct{ start, end int }

// find returns the stretches of text covered by occurrences of any needle,
// sorted, overlapping ones merged; nil when there are none.
func (set *secretSet) find(text string) []span {
	if set == nil {
		return nil
	}
	var spans []span
	sorted := true
	for _, n := range set.needles {
		first := len(spans)
		for from := 0; ; {
			i := strings.Index(text[from:], n)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(n)
			if k := len(spans) - 1; k >= first && spans[k].end > start {
				spans[k].end = end // overlaps this needle's previous occurrence
			} else {
				if k >= 0 && start < spans[k].start {
					sorted = false
				}
				spans = append(spans, span{start, end})
			}
			from = start + 1
		}
	}
	if len(spans) < 2 {
		return spans
	}
	if !sorted {
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	}
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

// appendRedacted appends text to dst with each span replaced by "[redacted]".
func appendRedacted(dst []byte, text string, spans []span) []byte {
	dst = slices.Grow(dst, len(text)+len(spans)*len(redacted))
	last := 0
	for _, sp := range spans {
		dst = append(dst, text[last:sp.start]...)
		dst = append(dst, redacted...)
		last = sp.end
	}
	return append(dst, text[last:]...)
}

// view returns b as a string without copying it. The string must not outlive
// the call that made it, and b must not change while it is in use: every
// caller here only searches it and copies out what it keeps.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
