package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/moat-mcp/moat/host/policy"
	"github.com/redis/go-redis/v9"
)

// Buckets are the rate limit buckets on Redis, shared by every moat that
// names it. Each bucket is one key holding its theoretical arrival time
// (GCRA): the moment at which the bucket would be full again, in
// microseconds of Redis's own clock, so that the replicas' clocks do not
// matter. A bucket of burst B refilling at R per second admits what a token
// bucket of the same B and R admits. The keys share one hash tag, so that
// one script may check and take them together on a cluster too:
//
//	moat:rl:{rl}:SCOPE:KEY
//
// Each key expires once its bucket would be full, so idle buckets take no
// room.
type Buckets struct{ c redis.UniversalClient }

var _ policy.Shared = Buckets{}

// Buckets are the rate limit buckets on this store.
func (r *Redis) Buckets() Buckets { return Buckets{c: r.c} }

// takeScript takes one token from every bucket of KEYS, or from none.
// ARGV holds, per key, its emission interval (microseconds per token) and
// its burst. It answers {0, 0} when it took, or {i, wait} naming the
// bucket (1-based) that refills last and the microseconds until it holds a
// token.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local worst, worstWait = 0, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2*i-1])
  local burst = tonumber(ARGV[2*i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local wait = tat + interval - burst * interval - now
  if wait > 0 then
    if wait > worstWait then worst, worstWait = i, wait end
  end
  tats[i] = tat + interval
end
if worst > 0 then
  return {worst, math.ceil(worstWait)}
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return {0, 0}
`)

// Take takes one token from each bucket, or from none, in one script.
func (b Buckets) Take(ctx context.Context, buckets []policy.SharedBucket) (policy.Decision, error) {
	keys := make([]string, len(buckets))
	args := make([]any, 0, 2*len(buckets))
	for i, bk := range buckets {
		keys[i] = "moat:rl:{rl}:" + bk.Scope + ":" + bk.Key
		interval := 1e6 / float64(bk.Limit.Rate)
		args = append(args, strconv.FormatFloat(interval, 'g', -1, 64), strconv.Itoa(bk.Limit.Burst))
	}
	res, err := takeScript.Run(ctx, b.c, keys, args...).Int64Slice()
	if err != nil {
		return policy.Decision{}, err
	}
	if len(res) != 2 || res[0] < 0 || res[0] > int64(len(buckets)) {
		return policy.Decision{}, fmt.Errorf("the rate limit script answered %v", res)
	}
	if res[0] == 0 {
		return policy.Decision{OK: true}, nil
	}
	return policy.Decision{Scope: buckets[res[0]-1].Scope, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}
