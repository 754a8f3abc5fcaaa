package observe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Record is one line of the audit log: one tools/call, or one call refused
// before it ran.
type Record struct {
	// Time is when the call arrived; Record fills in the current time when
	// it is zero. It is written in UTC, RFC 3339 with milliseconds.
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Transport string    `json:"transport"` // "http" or "stdio"
	Method    string    `json:"method"`    // "tools/call" usually
	Tool      string    `json:"tool,omitempty"`
	Plugin    string    `json:"plugin,omitempty"`
	// Outcome is one of ok, tool_error, denied, rate_limited,
	// invalid_arguments, fault:<kind>, unauthenticated, forbidden.
	Outcome string `json:"outcome"`
	// Reason is a short detail: the auth reason label, the rate-limit scope,
	// the fault message. It is scrubbed before it is written.
	Reason string `json:"reason,omitempty"`
	// DurationMS is how long the call took, written to the microsecond.
	DurationMS float64 `json:"duration_ms"`
	// ArgsSHA256 and Arguments are filled in by Audit.Record from the
	// arguments it is given; what the caller sets here is replaced.
	ArgsSHA256 string          `json:"args_sha256,omitempty"` // hex SHA-256 of the arguments as received
	Arguments  json.RawMessage `json:"arguments,omitempty"`   // only with AuditOptions.IncludeArguments
	Remote     string          `json:"remote,omitempty"`      // the client's address, over HTTP
	// TraceParent is the W3C trace context the client sent in the
	// request's _meta, for joining the line to a trace.
	TraceParent string `json:"traceparent,omitempty"`
	// Count is how many refusals of one kind this line stands for, when
	// more than one arrived within AuditOptions.RefusalWindow. Such a line
	// keeps the time and arguments of the first; Remote is then the
	// client's host without its port.
	Count uint64 `json:"count,omitempty"`
	// Cached marks a call answered from the result cache: its outcome is
	// ok, and its plugin did not run.
	Cached bool `json:"cached,omitempty"`
}

// refusal reports whether an outcome is a request refused before it ran
// for who sent it or how: these arrive in floods a client controls, and
// are aggregated apart from the calls and denials.
func refusal(outcome string) bool {
	switch outcome {
	case "unauthenticated", "forbidden", "rate_limited", "invalid_request":
		return true
	}
	return false
}

// AuditOptions configures an Audit.
type AuditOptions struct {
	// Buffer is how many records may wait for the writer; when it is full
	// new records are dropped and counted. 0 or less means 4096.
	Buffer int
	// IncludeArguments writes each call's arguments in the line, scrubbed.
	// Off by default: arguments may hold personal data the log must not keep.
	IncludeArguments bool
	// RefusalWindow is how long refusals (unauthenticated, forbidden,
	// rate_limited, invalid_request) of one kind are gathered into one line
	// with a count. Refusals wait apart from calls, in at most
	// MaxRefusalKinds kinds per window, so no flood of them can make the
	// audit drop a call or a denial. 0 or less means 1s.
	RefusalWindow time.Duration
}

const (
	defaultAuditBuffer   = 4096
	defaultRefusalWindow = time.Second
	// MaxRefusalKinds caps the refusal lines of one window: past it, new
	// kinds are counted in one line per outcome with principal "*".
	MaxRefusalKinds = 256
)

// refusalKey is what makes two refusals the same kind.
type refusalKey struct {
	principal, transport, method, tool, outcome, reason, host string
}

// timeLayout is RFC 3339 with milliseconds, always three digits.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Audit writes the audit log: one JSON line per record, each written whole
// in one Write by a single goroutine that owns the destination, so callers
// never wait on the disk. Its methods are safe for concurrent use, and a nil
// *Audit accepts them all and records nothing.
type Audit struct {
	opts  AuditOptions
	w     io.Writer
	file  *os.File // the file OpenAudit opened, closed by Close; nil otherwise
	name  string   // where the lines go, for error messages
	queue chan *Record
	done  chan struct{} // closed when the writer goroutine has returned

	mu     sync.RWMutex // Record holds it shared while sending; Close alone while closing queue
	closed bool

	refusalMu sync.Mutex
	refusals  map[refusalKey]*Record // this window's, written by the writer goroutine

	dropped  atomic.Uint64
	scrubber atomic.Pointer[Secrets]
	writeErr error // the first failed write; owned by the writer goroutine until done

	closeOnce sync.Once
	closeErr  error
}

// OpenAudit opens the audit log at path, the audit.path setting: "stderr",
// or a file, created with mode 0600 (an existing file keeps its mode) and
// appended to. Close the Audit to flush it and close the file.
func OpenAudit(path string, opts AuditOptions) (*Audit, error) {
	switch path {
	case "":
		return nil, errors.New(`audit.path is empty; set it to a file path or to "stderr"`)
	case "stderr":
		return newAudit(os.Stderr, nil, "stderr", opts), nil
	case "stdout":
		return nil, errors.New(`audit.path: stdout carries the MCP messages when moat serves stdio; set it to "stderr" or to a file path`)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf(`audit.path: %w; make sure the directory exists and moat may write there, or set audit.path to "stderr"`, err)
	}
	return newAudit(f, f, path, opts), nil
}

// NewAudit returns an Audit writing to w, which Close leaves open.
func NewAudit(w io.Writer, opts AuditOptions) *Audit {
	return newAudit(w, nil, "the audit writer", opts)
}

func newAudit(w io.Writer, file *os.File, name string, opts AuditOptions) *Audit {
	if opts.Buffer <= 0 {
		opts.Buffer = defaultAuditBuffer
	}
	if opts.RefusalWindow <= 0 {
		opts.RefusalWindow = defaultRefusalWindow
	}
	a := &Audit{
		opts:     opts,
		w:        w,
		file:     file,
		name:     name,
		queue:    make(chan *Record, opts.Buffer),
		done:     make(chan struct{}),
		refusals: map[refusalKey]*Record{},
	}
	go a.run()
	return a
}

// SetScrubber makes the Audit scrub Reason and Arguments with s before
// writing, from the next record written on (records still queued included).
// A nil s turns scrubbing off.
func (a *Audit) SetScrubber(s *Secrets) {
	if a == nil {
		return
	}
	a.scrubber.Store(s)
}

// Record queues r for writing, with args the call's arguments exactly as
// received: Record sets r.ArgsSHA256 to their hex SHA-256 (empty when there
// are none) and r.Arguments to a copy of them with IncludeArguments (nil
// without). It hashes args on the caller's goroutine and never waits for the
// writer: when the buffer is full, or after Close, the record is dropped and
// counted in Dropped. Refusals are gathered instead (see
// AuditOptions.RefusalWindow) and never take a call's place in the buffer.
func (a *Audit) Record(r Record, args json.RawMessage) {
	if a == nil {
		return
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Count = 0
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		return
	}
	if refusal(r.Outcome) {
		a.refuse(r, args)
		return
	}
	a.setArgs(&r, args)
	select {
	case a.queue <- &r:
	default:
		a.dropped.Add(1)
	}
}

func (a *Audit) setArgs(r *Record, args json.RawMessage) {
	r.ArgsSHA256, r.Arguments = "", nil
	if len(args) > 0 {
		sum := sha256.Sum256(args)
		r.ArgsSHA256 = hex.EncodeToString(sum[:])
		if a.opts.IncludeArguments {
			r.Arguments = bytes.Clone(args) // the caller may reuse args once we return
		}
	}
}

// refuse counts a refusal in this window's line of its kind. The first of
// a kind pays for the record; the rest only for a map lookup.
func (a *Audit) refuse(r Record, args json.RawMessage) {
	host := r.Remote
	if h, _, err := net.SplitHostPort(r.Remote); err == nil {
		host = h
	}
	key := refusalKey{r.Principal, r.Transport, r.Method, r.Tool, r.Outcome, r.Reason, host}
	a.refusalMu.Lock()
	defer a.refusalMu.Unlock()
	if len(a.refusals) >= MaxRefusalKinds {
		if _, ok := a.refusals[key]; !ok {
			key = refusalKey{principal: "*", transport: r.Transport, outcome: r.Outcome, reason: "many kinds"}
			r = Record{Time: r.Time, Principal: "*", Transport: r.Transport, Outcome: r.Outcome, Reason: "many kinds"}
			args = nil
		}
	}
	if prev, ok := a.refusals[key]; ok {
		prev.Count++
		if prev.Count == 2 {
			prev.Remote = key.host
		}
		return
	}
	a.setArgs(&r, args)
	r.Count = 1
	a.refusals[key] = &r
}

// takeRefusals empties this window's refusals, oldest first.
func (a *Audit) takeRefusals() []*Record {
	a.refusalMu.Lock()
	if len(a.refusals) == 0 {
		a.refusalMu.Unlock()
		return nil
	}
	taken := a.refusals
	a.refusals = make(map[refusalKey]*Record, len(taken))
	a.refusalMu.Unlock()
	out := make([]*Record, 0, len(taken))
	for _, r := range taken {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *Record) int { return x.Time.Compare(y.Time) })
	return out
}

// Dropped reports how many records were not written: dropped because the
// buffer was full or the Audit closed, or lost to a failed write.
func (a *Audit) Dropped() uint64 {
	if a == nil {
		return 0
	}
	return a.dropped.Load()
}

// Close writes every record already queued, stops the writer goroutine and
// closes the file OpenAudit opened. It waits for the writes, so a destination
// that blocks makes Close block. It reports the first failed write. Later
// calls return the same result.
func (a *Audit) Close() error {
	if a == nil {
		return nil
	}
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.queue)
		a.mu.Unlock()
		<-a.done
		var errs []error
		if a.writeErr != nil {
			errs = append(errs, fmt.Errorf("audit: writing to %s: %w; records were lost, check that it is writable and has space", a.name, a.writeErr))
		}
		if a.file != nil {
			if err := a.file.Close(); err != nil {
				errs = append(errs, fmt.Errorf("audit: closing %s: %w", a.name, err))
			}
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// run is the writer goroutine: it owns a.w and returns when Close has closed
// the queue and every record in it is written.
func (a *Audit) run() {
	defer close(a.done)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the log is read by people and tools, not browsers
	write := func(r *Record) {
		if r.Count == 1 {
			r.Count = 0 // one refusal reads as any other line
		}
		buf.Reset()
		err := enc.Encode(a.line(r)) // Encode ends the line with '\n'
		if err == nil {
			_, err = a.w.Write(buf.Bytes())
		}
		if err != nil {
			a.dropped.Add(1)
			if a.writeErr == nil {
				a.writeErr = err
			}
		}
		if buf.Cap() > 64<<10 {
			buf = bytes.Buffer{} // do not hold on to one huge record's memory
		}
	}
	tick := time.NewTicker(a.opts.RefusalWindow)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-a.queue:
			if !ok {
				for _, r := range a.takeRefusals() {
					write(r)
				}
				return
			}
			write(r)
		case <-tick.C:
			for _, r := range a.takeRefusals() {
				write(r)
			}
		}
	}
}

// auditLine is a Record as written: its Time field hides Record.Time, being
// shallower, and is formatted in UTC with milliseconds.
type auditLine struct {
	Time string `json:"time"`
	Record
}

func (a *Audit) line(r *Record) auditLine {
	s := a.scrubber.Load()
	r.Reason = s.Scrub(r.Reason)
	if len(r.Arguments) > 0 {
		if !json.Valid(r.Arguments) {
			// Arguments refused as malformed are still worth seeing, and a
			// RawMessage that is not JSON would fail the whole line.
			r.Arguments, _ = json.Marshal(string(r.Arguments))
		}
		r.Arguments = validUTF8(s.ScrubJSON(r.Arguments))
	}
	if math.IsNaN(r.DurationMS) || math.IsInf(r.DurationMS, 0) {
		r.DurationMS = 0 // JSON has no NaN or Inf
	}
	r.DurationMS = math.Round(r.DurationMS*1000) / 1000
	return auditLine{Time: r.Time.UTC().Format(timeLayout), Record: *r}
}

// validUTF8 returns JSON text with each byte that is not UTF-8 replaced by
// the escape of U+FFFD, so that a strict parser reads the line. Such bytes
// can only sit inside strings in text json.Valid accepts, where the escape
// is a character like any other.
func validUTF8(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, `\ufffd`...)
			i++
			continue
		}
		out = append(out, data[i:i+size]...)
		i += size
	}
	return out
}
