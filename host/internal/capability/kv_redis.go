package capability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/moat-mcp/moat/abi"
	"github.com/redis/go-redis/v9"
)

// RedisKV is the kv store on a Redis server, shared by every moat that
// names it. Each plugin's namespace is three Redis keys under the one hash
// tag, so that a cluster keeps them on one node and a script may touch
// them together:
//
//	moat:kv:{PLUGIN}:v     a hash of the plugin's keys to their values
//	moat:kv:{PLUGIN}:k     a sorted set of its keys, all at score 0, for
//	                       listing them in byte order from a prefix
//	moat:kv:{PLUGIN}:used  the bytes its entries take (len(key)+len(value))
//
// Writes are Lua scripts, so the quota check and the write are one atomic
// step on the server, whichever replica sends them. A Set returns nil only
// once Redis has answered that it applied the write; how durable that is
// depends on Redis's persistence (see docs/STORE.md).
type RedisKV struct {
	c    redis.UniversalClient
	name string // the store as errors name it, such as "redis at host:6379/0"
}

var _ Store = (*RedisKV)(nil)

// NewRedisKV serves the kv capability from c; name names the store in
// errors. Close does not close c, which its opener owns.
func NewRedisKV(c redis.UniversalClient, name string) *RedisKV {
	return &RedisKV{c: c, name: name}
}

// Close does nothing: the client belongs to whoever opened it.
func (s *RedisKV) Close() error { return nil }

func redisKeys(plugin string) []string {
	base := "moat:kv:{" + plugin + "}:"
	return []string{base + "v", base + "k", base + "used"}
}

// setScript stores ARGV[1]=ARGV[2] if the plugin stays within ARGV[3]
// bytes. It answers {1, used} when stored, {0, used} with the bytes the
// plugin would have reached when refused.
var setScript = redis.NewScript(`
local size = string.len(ARGV[1]) + string.len(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  used = used - string.len(ARGV[1]) - redis.call('HSTRLEN', KEYS[1], ARGV[1])
end
used = used + size
if used > tonumber(ARGV[3]) then
  return {0, used}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SET', KEYS[3], used)
return {1, used}
`)

// deleteScript removes ARGV[1] and gives its bytes back.
var deleteScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local size = string.len(ARGV[1]) + redis.call('HSTRLEN', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DECRBY', KEYS[3], size)
return 1
`)

// Get returns the value of key in plugin's namespace.
func (s *RedisKV) Get(ctx context.Context, plugin string, key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	v, err := s.c.HGet(ctx, redisKeys(plugin)[0], string(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, &Error{abi.ENOTFOUND, fmt.Sprintf("no value is stored under key %q", key)}
	}
	if err != nil {
		return nil, s.failed(ctx, "kv_get", err, false)
	}
	return v, nil
}

// Set stores value under key in plugin's namespace within quota bytes, the
// check and the write one script on the server.
func (s *RedisKV) Set(ctx context.Context, plugin string, key, value []byte, quota uint64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkValue(value); err != nil {
		return err
	}
	res, err := setScript.Run(ctx, s.c, redisKeys(plugin), key, value, strconv.FormatUint(quota, 10)).Int64Slice()
	if err != nil {
		return s.failed(ctx, "kv_set", err, true)
	}
	if len(res) != 2 {
		return &Error{abi.EIO, fmt.Sprintf("the %s answered kv_set with %v, not what moat's script returns; the write may or may not be stored", s.name, res)}
	}
	if res[0] == 0 {
		return quotaError(len(key)+len(value), uint64(res[1]), quota)
	}
	return nil
}

// Delete removes key from plugin's namespace; a missing key is no error.
func (s *RedisKV) Delete(ctx context.Context, plugin string, key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := deleteScript.Run(ctx, s.c, redisKeys(plugin), key).Err(); err != nil {
		return s.failed(ctx, "kv_delete", err, true)
	}
	return nil
}

// List returns the JSON array of plugin's keys that start with prefix, in
// byte order (Redis orders equal-score members bytewise), at most
// MaxListing.
func (s *RedisKV) List(ctx context.Context, plugin string, prefix []byte) ([]byte, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	rng := &redis.ZRangeBy{Min: "[" + string(prefix), Max: "+", Count: MaxListing}
	if len(prefix) == 0 {
		rng.Min = "-"
	} else if end, ok := prefixEnd(prefix); ok {
		rng.Max = "(" + string(end)
	}
	keys, err := s.c.ZRangeByLex(ctx, redisKeys(plugin)[1], rng).Result()
	if err != nil {
		return nil, s.failed(ctx, "kv_list", err, false)
	}
	if keys == nil {
		keys = []string{}
	}
	return json.Marshal(keys)
}

// prefixEnd is the least byte string greater than every string that starts
// with prefix; there is none when prefix is all 0xff bytes.
func prefixEnd(prefix []byte) ([]byte, bool) {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1], true
		}
	}
	return nil, false
}

// Used is the bytes plugin's entries take against its quota.
func (s *RedisKV) Used(ctx context.Context, plugin string) (uint64, error) {
	n, err := s.c.Get(ctx, redisKeys(plugin)[2]).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.failed(ctx, "used", err, false)
	}
	return n, nil
}

// failed turns a failed command into the plugin's error: ETIMEDOUT or
// ECANCELED when the call's context ended, else EIO naming the store. A
// write that failed may have been applied before the answer was lost, and
// the message says so.
func (s *RedisKV) failed(ctx context.Context, op string, err error, write bool) error {
	outcome := ""
	if write {
		outcome = "; it was not acknowledged, so it may or may not be stored"
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{abi.ETIMEDOUT, fmt.Sprintf("the call's deadline passed while the %s was answering %s%s", s.name, op, outcome)}
	case ctx.Err() != nil:
		return &Error{abi.ECANCELED, fmt.Sprintf("the call was cancelled while the %s was answering %s%s", s.name, op, outcome)}
	}
	return &Error{abi.EIO, fmt.Sprintf("the kv store (%s) failed: %v%s; the store answers again once Redis does", s.name, err, outcome)}
}
