package capability

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moat-mcp/moat/abi"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Caps of one entry and of a listing.
const (
	MaxKey     = 1 << 10 // bytes in a key
	MaxValue   = 1 << 20 // bytes in a value
	MaxListing = 10000   // keys kv_list returns at most
)

// KVFile is the store's file under data_dir.
const KVFile = "kv.db"

// Two buckets per plugin would let a key collide with the bookkeeping, so
// the plugin's bucket holds a nested bucket of entries and, beside it, the
// bytes in use.
var (
	entriesBucket = []byte("entries")
	usedKey       = []byte("used")
)

// Store is the key-value store behind the kv capability, each plugin in a
// namespace of its own. Two engines serve it alike (the same caps, quotas
// and errnos): KV, a bbolt file in data_dir, and RedisKV, shared by every
// moat that names the same Redis. A failure the plugin should see carries
// its errno as an *Error; any other error is the store failing (EIO).
type Store interface {
	// Get returns the value of key in plugin's namespace.
	Get(ctx context.Context, plugin string, key []byte) ([]byte, error)
	// Set stores value under key in plugin's namespace, within quota bytes
	// (the sum of len(key)+len(value) over the plugin's entries), checked
	// together with the write. It is durable, as far as the engine makes
	// it, once it returns nil.
	Set(ctx context.Context, plugin string, key, value []byte, quota uint64) error
	// Delete removes key from plugin's namespace; a missing key is no
	// error.
	Delete(ctx context.Context, plugin string, key []byte) error
	// List returns the JSON array of plugin's keys that start with prefix,
	// sorted bytewise, at most MaxListing.
	List(ctx context.Context, plugin string, prefix []byte) ([]byte, error)
	// Used is the bytes plugin's entries take against its quota.
	Used(ctx context.Context, plugin string) (uint64, error)
	// Close releases the engine.
	Close() error
}

var _ Store = (*KV)(nil)

// KV is the key-value store of every plugin: one bbolt file, one bucket per
// plugin, so no plugin reaches another's keys. It is safe for concurrent
// use; bbolt serialises writers, so a Set's quota check and write are one
// transaction.
type KV struct {
	db *bolt.DB
	// writer is held by the one write in progress. bbolt queues writers on
	// a lock that no deadline reaches; waiting for this slot instead lets a
	// write give up when its call's deadline passes or the call is
	// cancelled, rather than wait behind every other writer.
	writer chan struct{}
}

// Error is a store failure with the errno the plugin sees.
type Error struct {
	Errno abi.Errno
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// OpenKV opens (creating) the store in dataDir, which is created 0700. A
// second process on the same dataDir fails at once: bbolt locks the file.
// ErrKVLocked is OpenKV's error when another process holds the store.
var ErrKVLocked = errors.New(KVFile + " is locked by another moat")

func OpenKV(dataDir string) (*KV, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w; set data_dir to a folder moat may create", dataDir, err)
	}
	path := filepath.Join(dataDir, KVFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("data_dir %s: %w; stop it, or give this one its own data_dir", dataDir, ErrKVLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("data_dir %s: open %s: %w", dataDir, KVFile, err)
	}
	return &KV{db: db, writer: make(chan struct{}, 1)}, nil
}

// write waits for the writer's slot, at most until ctx ends. A write that
// gave up was never started: nothing of it is stored.
func (s *KV) write(ctx context.Context) (func(), error) {
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &Error{Errno: abi.ETIMEDOUT, Msg: "the call's deadline passed while the write waited for the writes before it; nothing was written"}
		}
		return nil, &Error{Errno: abi.ECANCELED, Msg: "the call was cancelled while the write waited for the writes before it; nothing was written"}
	}
}

// Close closes the store's file.
func (s *KV) Close() error { return s.db.Close() }

// Get returns the value of key in plugin's namespace.
func (s *KV) Get(_ context.Context, plugin string, key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := entries(tx, plugin); b != nil {
			if got := b.Get(key); got != nil {
				v = bytes.Clone(got)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &Error{abi.ENOTFOUND, fmt.Sprintf("no value is stored under key %q", key)}
	}
	return v, nil
}

// Set stores value under key in plugin's namespace, within quota bytes
// (the sum of len(key)+len(value) over the plugin's entries). It is
// durable once it returns nil.
func (s *KV) Set(ctx context.Context, plugin string, key, value []byte, quota uint64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkValue(value); err != nil {
		return err
	}
	release, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer release()
	return s.db.Update(func(tx *bolt.Tx) error {
		pb, err := tx.CreateBucketIfNotExists([]byte(plugin))
		if err != nil {
			return err
		}
		b, err := pb.CreateBucketIfNotExists(entriesBucket)
		if err != nil {
			return err
		}
		used := usedOf(pb)
		if old := b.Get(key); old != nil {
			used -= uint64(len(key) + len(old))
		}
		used += uint64(len(key) + len(value))
		if used > quota {
			return quotaError(len(key)+len(value), used, quota)
		}
		if err := b.Put(key, value); err != nil {
			return err
		}
		return pb.Put(usedKey, binary.BigEndian.AppendUint64(nil, used))
	})
}

// Delete removes key from plugin's namespace; a missing key is no error.
func (s *KV) Delete(ctx context.Context, plugin string, key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	release, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer release()
	return s.db.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket([]byte(plugin))
		if pb == nil {
			return nil
		}
		b := pb.Bucket(entriesBucket)
		old := b.Get(key)
		if old == nil {
			return nil
		}
		if err := b.Delete(key); err != nil {
			return err
		}
		return pb.Put(usedKey, binary.BigEndian.AppendUint64(nil, usedOf(pb)-uint64(len(key)+len(old))))
	})
}

// List returns the JSON array of plugin's keys that start with prefix,
// sorted, at most MaxListing.
func (s *KV) List(_ context.Context, plugin string, prefix []byte) ([]byte, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	keys := []string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := entries(tx, plugin)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(keys) < MaxListing; k, _ = c.Next() {
			keys = append(keys, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(keys)
}

// Used is the bytes plugin's entries take against its quota.
func (s *KV) Used(_ context.Context, plugin string) (used uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if pb := tx.Bucket([]byte(plugin)); pb != nil {
			used = usedOf(pb)
		}
		return nil
	})
	return used, err
}

func entries(tx *bolt.Tx, plugin string) *bolt.Bucket {
	pb := tx.Bucket([]byte(plugin))
	if pb == nil {
		return nil
	}
	return pb.Bucket(entriesBucket)
}

func usedOf(pb *bolt.Bucket) uint64 {
	if v := pb.Get(usedKey); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return &Error{abi.EINVAL, "the key is empty"}
	case len(key) > MaxKey:
		return &Error{abi.ETOOBIG, fmt.Sprintf("the key is %d bytes; a key holds at most %d", len(key), MaxKey)}
	}
	return nil
}

func checkValue(value []byte) error {
	if len(value) > MaxValue {
		return &Error{abi.ETOOBIG, fmt.Sprintf("the value is %d bytes; a value holds at most %d", len(value), MaxValue)}
	}
	return nil
}

func checkPrefix(prefix []byte) error {
	if len(prefix) > MaxKey {
		return &Error{abi.ETOOBIG, fmt.Sprintf("the prefix is %d bytes; a key holds at most %d", len(prefix), MaxKey)}
	}
	return nil
}

func quotaError(size int, used, quota uint64) error {
	return &Error{abi.ETOOBIG, fmt.Sprintf("storing %d bytes would bring the plugin to %d bytes, past its quota of %d", size, used, quota)}
}

// Each calls fn with every entry of every plugin, plugin by plugin and in
// key order, within one read of the file: what moat store copy moves to
// another engine. key and value are valid only during the call. An error
// from fn ends the walk and is returned.
func (s *KV) Each(fn func(plugin string, key, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, pb *bolt.Bucket) error {
			b := pb.Bucket(entriesBucket)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error { return fn(string(name), k, v) })
		})
	})
}
