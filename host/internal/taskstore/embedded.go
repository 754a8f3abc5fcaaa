package taskstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// File is the embedded store's file under data_dir.
const File = "tasks.db"

var (
	recordsBucket    = []byte("tasks")
	principalsBucket = []byte("principals")
)

// embedded keeps records in a bbolt file, opened on first need: a moat
// that never runs a task needs no data_dir. The file is locked while
// open, so one process at a time owns every record in it: a record not
// ended that another process wrote belongs to a moat that stopped.
type embedded struct {
	dir func() (string, error)
	mu  sync.Mutex
	db  *bolt.DB
	// where is the file, once known, for the store's name.
	where  string
	closed bool
}

// NewEmbedded is the store in the file tasks.db under the folder dir
// returns (data_dir), created 0700, the file 0600, when the first task is
// created; reads before that find no task unless the file exists.
func NewEmbedded(dir func() (string, error)) *Store {
	return newStore(&embedded{dir: dir}, NewOwner())
}

func (e *embedded) name() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.where == "" {
		return File + " in data_dir"
	}
	return e.where
}

func (e *embedded) shared() bool { return false }

// alive: only this process may hold the file, so any other owner is gone.
func (e *embedded) alive(_ context.Context, _ string) (bool, error) { return false, nil }

// open opens the file, creating it only when create; without create and
// without a file it returns nil.
func (e *embedded) open(create bool) (*bolt.DB, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db != nil {
		return e.db, nil
	}
	if e.closed {
		return nil, errors.New("the store is closed: moat is stopping")
	}
	dir, err := e.dir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, File)
	e.where = path
	if !create {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w; set data_dir to a folder moat may create", dir, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is locked by another moat; stop it, or give this one its own data_dir", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Forget what expired while no moat had the file.
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(recordsBucket); err != nil {
			return err
		}
		ps, err := tx.CreateBucketIfNotExists(principalsBucket)
		if err != nil {
			return err
		}
		var principals [][]byte
		_ = ps.ForEachBucket(func(k []byte) error {
			principals = append(principals, append([]byte(nil), k...))
			return nil
		})
		for _, p := range principals {
			if _, _, err := sweep(tx, ps.Bucket(p), time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e.db = db
	return db, nil
}

// An index entry: the record's expiry (unix nanoseconds) and whether it
// has ended.
func indexEntry(r *Record) []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, uint64(r.Expires.UnixNano()))
	if r.Terminal() {
		b[8] = 1
	}
	return b
}

// sweep deletes the expired records of one principal's index, and returns
// the ids of those left not ended and how many are left.
func sweep(tx *bolt.Tx, idx *bolt.Bucket, now time.Time) (running []string, kept int, err error) {
	if idx == nil {
		return nil, 0, nil
	}
	recs := tx.Bucket(recordsBucket)
	var expired [][]byte
	err = idx.ForEach(func(id, v []byte) error {
		if len(v) != 9 || int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
			expired = append(expired, append([]byte(nil), id...))
			return nil
		}
		kept++
		if v[8] == 0 {
			running = append(running, string(id))
		}
		return nil
	})
	for _, id := range expired {
		if err == nil {
			err = idx.Delete(id)
		}
		if err == nil {
			err = recs.Delete(id)
		}
	}
	return running, kept, err
}

func (e *embedded) create(_ context.Context, rec *Record, maxRunning, maxKept int) (*full, error) {
	db, err := e.open(true)
	if err != nil {
		return nil, err
	}
	b, err := encode(rec)
	if err != nil {
		return nil, err
	}
	var f *full
	err = db.Update(func(tx *bolt.Tx) error {
		idx, err := tx.Bucket(principalsBucket).CreateBucketIfNotExists([]byte(rec.Principal))
		if err != nil {
			return err
		}
		running, kept, err := sweep(tx, idx, time.Now())
		if err != nil {
			return err
		}
		if len(running) >= maxRunning || kept >= maxKept {
			f = &full{running: running, kept: kept}
			return nil
		}
		if err := tx.Bucket(recordsBucket).Put([]byte(rec.ID), b); err != nil {
			return err
		}
		return idx.Put([]byte(rec.ID), indexEntry(rec))
	})
	return f, err
}

func (e *embedded) get(_ context.Context, id string) (*Record, error) {
	db, err := e.open(false)
	if err != nil || db == nil {
		return nil, err
	}
	var r *Record
	err = db.View(func(tx *bolt.Tx) error {
		r, err = readRecord(tx, id)
		return err
	})
	return r, err
}

func readRecord(tx *bolt.Tx, id string) (*Record, error) {
	b := tx.Bucket(recordsBucket).Get([]byte(id))
	if b == nil {
		return nil, nil
	}
	r, err := decode(b)
	if err != nil || !time.Now().Before(r.Expires) {
		return nil, err
	}
	return r, nil
}

func (e *embedded) update(_ context.Context, id string, fn func(*Record) bool) (*Record, error) {
	db, err := e.open(false)
	if err != nil || db == nil {
		return nil, err
	}
	var r *Record
	err = db.Update(func(tx *bolt.Tx) error {
		if r, err = readRecord(tx, id); err != nil || r == nil || !fn(r) {
			return err
		}
		b, err := encode(r)
		if err != nil {
			return err
		}
		if err := tx.Bucket(recordsBucket).Put([]byte(id), b); err != nil {
			return err
		}
		if idx := tx.Bucket(principalsBucket).Bucket([]byte(r.Principal)); idx != nil {
			return idx.Put([]byte(id), indexEntry(r))
		}
		return nil
	})
	return r, err
}

func (e *embedded) del(_ context.Context, id, principal string) error {
	db, err := e.open(false)
	if err != nil || db == nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		if idx := tx.Bucket(principalsBucket).Bucket([]byte(principal)); idx != nil {
			if err := idx.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return tx.Bucket(recordsBucket).Delete([]byte(id))
	})
}

func (e *embedded) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	return err
}
