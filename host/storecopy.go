package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/host/internal/capability"
	"github.com/moat-mcp/moat/host/internal/store"
)

// CopiedPlugin is one plugin's namespace as CopyStore moved it.
type CopiedPlugin struct {
	Name  string
	Keys  int
	Bytes uint64 // len(key)+len(value) over its entries, as quotas count
}

// CopyOptions tune CopyStore.
type CopyOptions struct {
	// Overwrite lets the copy write into namespaces that already hold
	// entries on Redis: keys both stores hold take the embedded value,
	// keys only Redis holds stay. Without it, such namespaces refuse the
	// copy before anything is written.
	Overwrite bool
	Log       hclog.Logger
}

// CopyStore copies every plugin's kv entries from the embedded store
// (kv.db in data_dir) to the Redis store that store.redis names, so that
// moving to Redis loses no notes. Quotas are not checked: what the embedded
// store holds is copied whole, even past a quota lowered since. Nothing is
// deleted from kv.db. moat must not be serving from data_dir meanwhile:
// the store's lock refuses the copy while it does.
func CopyStore(ctx context.Context, cfg *config.Config, opts CopyOptions) ([]CopiedPlugin, error) {
	log := opts.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if cfg.Store.Redis == nil {
		return nil, errors.New("store.redis is not set: name the Redis to copy to with store.redis.url in the configuration, or MOAT_STORE_REDIS_URL")
	}
	dir, err := cfg.DataDirPath()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, capability.KVFile)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no embedded store to copy: %s does not exist; point data_dir (or MOAT_DATA_DIR) at the folder moat kept %s in", file, capability.KVFile)
	}
	kv, err := capability.OpenKV(dir)
	if err != nil {
		return nil, err
	}
	defer kv.Close()
	r, err := store.OpenRedis(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.Client().Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("%s does not answer: %v; start it, or fix store.redis.url", r.Name(), err)
	}
	dst := r.KV()

	// What the embedded store holds, and which namespaces Redis has too.
	var copied []CopiedPlugin
	err = kv.Each(func(plugin string, key, value []byte) error {
		if len(copied) == 0 || copied[len(copied)-1].Name != plugin {
			copied = append(copied, CopiedPlugin{Name: plugin})
		}
		c := &copied[len(copied)-1]
		c.Keys++
		c.Bytes += uint64(len(key) + len(value))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var taken []string
	for _, c := range copied {
		used, err := dst.Used(ctx, c.Name)
		if err != nil {
			return nil, err
		}
		if used > 0 {
			taken = append(taken, c.Name)
		}
	}
	if len(taken) > 0 && !opts.Overwrite {
		return nil, fmt.Errorf("%s already holds kv entries of %s %s; nothing was copied. Copy into an empty database (another /DB in store.redis.url), or pass --overwrite to replace the keys both stores hold and keep the others",
			r.Name(), plural(len(taken), "plugin", "plugins"), strings.Join(taken, ", "))
	}

	err = kv.Each(func(plugin string, key, value []byte) error {
		if err := dst.Set(ctx, plugin, key, value, math.MaxUint64); err != nil {
			return fmt.Errorf("copying plugin %s's key %q: %w; the keys before it are copied, run the copy again with --overwrite once the store answers", plugin, key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Into empty namespaces, the copy must hold exactly what the file does.
	for _, c := range copied {
		if slices.Contains(taken, c.Name) {
			continue
		}
		used, err := dst.Used(ctx, c.Name)
		if err != nil {
			return nil, err
		}
		if used != c.Bytes {
			return nil, fmt.Errorf("plugin %s: %s holds %d bytes after the copy, %s %d; run the copy again with --overwrite", c.Name, r.Name(), used, file, c.Bytes)
		}
	}
	return copied, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
