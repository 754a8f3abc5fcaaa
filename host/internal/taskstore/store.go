// Package taskstore keeps the records of MCP tasks (the tasks extension):
// each task's status, its result or error, the input it waits for and the
// answers delivered, so that a task outlives the request that started it,
// is read back after a restart of moat until its TTL, and, on the shared
// store, is read, answered and cancelled through any replica.
//
// Three engines keep the same contract: Embedded, a bbolt file in
// data_dir; Redis, shared by every moat that names the same server; and
// Memory, for a server built without either. The run of a task stays in
// the process that started it (its owner); the store only records it.
package taskstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Task statuses, as the extension names them.
const (
	Working       = "working"
	InputRequired = "input_required"
	Completed     = "completed"
	Failed        = "failed"
	Cancelled     = "cancelled"
)

// StoppedMessage is the error of a task whose moat stopped while it ran or
// waited for input.
const StoppedMessage = "moat stopped before the task finished"

// Record is one task as the store keeps it.
type Record struct {
	ID        string    `json:"id"`
	Principal string    `json:"principal"`
	Tool      string    `json:"tool"`
	Plugin    string    `json:"plugin"`
	Status    string    `json:"status"`
	Message   string    `json:"statusMessage,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	// Expires is when the record is forgotten: its creation and the TTL.
	Expires time.Time `json:"expires"`
	// Result is the CallToolResult of a completed task, as the client
	// reads it; Error the JSON-RPC error of a failed one.
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	// Pending are the input requests the task waits on, by key; Answers
	// the client's answers delivered (tasks/update) and not yet taken by
	// the run.
	Pending map[string]json.RawMessage `json:"pending,omitempty"`
	Answers map[string]json.RawMessage `json:"answers,omitempty"`
	// Owner is the instance id of the moat process that runs the task.
	Owner string `json:"owner"`
}

// Error is a JSON-RPC error, as a failed task reports it.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Terminal reports whether the task has ended: completed, failed or
// cancelled. A terminal record changes no more.
func (r *Record) Terminal() bool {
	return r.Status == Completed || r.Status == Failed || r.Status == Cancelled
}

// stopped marks a record whose owner is gone as failed.
func stopped(r *Record, now time.Time) {
	r.Status, r.Message, r.Updated = Failed, StoppedMessage, now
	r.Error = &Error{Code: -32603, Message: StoppedMessage}
	r.Pending, r.Answers = nil, nil
}

// CapError refuses a task over one of its principal's caps.
type CapError struct{ Msg string }

func (e *CapError) Error() string { return e.Msg }

// Failure is the store failing (Redis not answering, the file not
// writable): the message names the store.
type Failure struct {
	Store string
	Err   error
}

func (e *Failure) Error() string {
	return fmt.Sprintf("the task store (%s) failed: %v", e.Store, e.Err)
}

func (e *Failure) Unwrap() error { return e.Err }

// full is an engine's refusal of a new record over the caps: the ids of
// the principal's tasks it counts as running, and how many it keeps.
type full struct {
	running []string
	kept    int
}

// engine is what each store does; Store adds what they share.
type engine interface {
	name() string
	// shared reports whether other processes read and write the records
	// this one runs.
	shared() bool
	// create stores rec unless its principal already has maxRunning
	// non-terminal tasks or maxKept tasks; then it stores nothing and
	// returns what it counted.
	create(ctx context.Context, rec *Record, maxRunning, maxKept int) (*full, error)
	// get returns the record, or nil when there is none (or it expired).
	get(ctx context.Context, id string) (*Record, error)
	// update applies fn to the record and stores it if fn reports true,
	// atomically; it returns the record as it is after, or nil when there
	// is none.
	update(ctx context.Context, id string, fn func(*Record) bool) (*Record, error)
	del(ctx context.Context, id, principal string) error
	// alive reports whether the process owner still runs (and so runs its
	// tasks).
	alive(ctx context.Context, owner string) (bool, error)
	close() error
}

// Store keeps task records on one engine, for one moat process.
type Store struct {
	e     engine
	owner string
}

func newStore(e engine, owner string) *Store { return &Store{e: e, owner: owner} }

// NewOwner is a new random instance id for a moat process.
func NewOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Owner is this process's instance id, for Record.Owner.
func (s *Store) Owner() string { return s.owner }

// Name names the store, as its errors do.
func (s *Store) Name() string { return s.e.name() }

// Shared reports whether other moat processes read and write these
// records (Redis): a task this process runs may then be answered or
// cancelled through another, and its run must look at its record to see
// it.
func (s *Store) Shared() bool { return s.e.shared() }

func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	var f *Failure
	var c *CapError
	if errors.As(err, &f) || errors.As(err, &c) {
		return err
	}
	return &Failure{Store: s.e.name(), Err: err}
}

// Create stores a new record, within its principal's caps: at most
// maxRunning tasks not yet ended, at most maxKept in all. Over a cap it
// answers a *CapError saying which.
func (s *Store) Create(ctx context.Context, rec *Record, maxRunning, maxKept int) error {
	for try := 0; ; try++ {
		f, err := s.e.create(ctx, rec, maxRunning, maxKept)
		if err != nil {
			return s.fail(err)
		}
		if f == nil {
			return nil
		}
		if f.kept >= maxKept {
			return &CapError{Msg: fmt.Sprintf("moat keeps %d tasks of yours, the most it keeps for one caller; they expire %s after they were created", f.kept, rec.Expires.Sub(rec.Created).Round(time.Second))}
		}
		if try > 0 {
			return &CapError{Msg: fmt.Sprintf("you have %d tasks running, the most moat runs for one caller; wait for one to finish, or cancel one with tasks/cancel", len(f.running))}
		}
		// Some of those counted may belong to a moat that is gone: reading
		// them fails them, and frees their places.
		for _, id := range f.running {
			if _, err := s.Get(ctx, id); err != nil {
				return err
			}
		}
	}
}

// Get returns the record of id, or nil when there is none. A record not
// ended whose owner is gone is failed first, with StoppedMessage.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	rec, err := s.e.get(ctx, id)
	if err != nil || rec == nil || rec.Terminal() || rec.Owner == s.owner {
		return rec, s.fail(err)
	}
	ok, err := s.e.alive(ctx, rec.Owner)
	if err != nil || ok {
		return rec, s.fail(err)
	}
	owner := rec.Owner
	rec, err = s.e.update(ctx, id, func(r *Record) bool {
		if r.Terminal() || r.Owner != owner {
			return false
		}
		stopped(r, time.Now())
		return true
	})
	return rec, s.fail(err)
}

// Update applies fn to the record of id and stores the record if fn
// reports true, atomically: no other write comes between the read fn sees
// and the write. It returns the record as it is after, or nil when there
// is none.
func (s *Store) Update(ctx context.Context, id string, fn func(*Record) bool) (*Record, error) {
	rec, err := s.e.update(ctx, id, fn)
	return rec, s.fail(err)
}

// Delete forgets the record of id, principal's.
func (s *Store) Delete(ctx context.Context, id, principal string) error {
	return s.fail(s.e.del(ctx, id, principal))
}

// Close releases the engine; records this process ran and did not end
// are failed by the next reader.
func (s *Store) Close() error { return s.e.close() }

func encode(r *Record) ([]byte, error) { return json.Marshal(r) }

func decode(b []byte) (*Record, error) {
	r := new(Record)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("a task record does not decode: %w", err)
	}
	return r, nil
}
