package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

// The atomic primitives are Lua scripts: Redis runs a script without interleaving other commands,
// and go-redis sends EVALSHA, falling back to EVAL when the server does not have the script cached
// (after a restart, say). On a Cluster, all the keys of one script must be in one slot.

// casScript: ARGV old, new, ttl-ms. Returns 1 when swapped, 0 when the key is missing, -1 when
// the value differs.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`)

// cadScript: ARGV old. Returns 1 when deleted, 0 when the key is missing, -1 when the value
// differs.
var cadScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
`)

// setAddScript: ARGV ttl-ms, then the members. A new set gets the ttl; an existing one is extended
// to the ttl but never shortened, and a set without expiry keeps none; ttl 0 removes the expiry.
var setAddScript = redis.NewScript(`
local setkey = KEYS[1]
local existed = redis.call('EXISTS', setkey)
for i = 2, #ARGV do
  redis.call('SADD', setkey, ARGV[i])
end
if existed == 0 and #ARGV < 2 then return 0 end
local ttl = tonumber(ARGV[1])
` + luaGrowSetTTL + `
return 1
`)

// luaGrowSetTTL is the ttl rule of every script that adds to a set, given the locals setkey (the
// set's key), existed (whether the set existed before the add) and ttl (ms): a new set gets the
// ttl, an existing one is extended to it but never shortened, and ttl 0 removes the expiry.
const luaGrowSetTTL = `
if ttl <= 0 then
  redis.call('PERSIST', setkey)
elseif existed == 0 then
  redis.call('PEXPIRE', setkey, ttl)
else
  local cur = redis.call('PTTL', setkey)
  if cur >= 0 and cur < ttl then redis.call('PEXPIRE', setkey, ttl) end
end
`

// CreateAll writes every entry only if none of the keys exists, in one script: all or nothing.
// Otherwise it returns ErrConflict naming the first existing key. It is WriteCreateAll without
// writes.
//
// The keys must hash to one Cluster slot (share a hash tag, "{grant}:code", "{grant}:pkce"); keys
// that do not are refused with [ErrCrossSlot] on every deployment, not only on a Cluster, so that a
// test against one server catches what a Cluster would refuse.
func (k *KV) CreateAll(ctx context.Context, entries []storage.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	return k.WriteCreateAll(ctx, nil, entries)
}

// CompareAndSwap replaces the value only if it currently equals old, and sets the new ttl (0: no
// expiry). ErrNotFound if the key is missing, ErrConflict if the value differs.
func (k *KV) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	c, cancel := k.call(ctx)
	defer cancel()
	n, err := casScript.Run(c, k.on(c), []string{k.key(key)}, old, value, ms(ttl)).Int()
	if err != nil {
		return wrap(ctx, "compare-and-swap", key, err)
	}
	return compared("compare-and-swap", key, n)
}

// CompareAndDelete deletes the key only if its value equals old. ErrNotFound if missing,
// ErrConflict if the value differs.
func (k *KV) CompareAndDelete(ctx context.Context, key string, old []byte) error {
	c, cancel := k.call(ctx)
	defer cancel()
	n, err := cadScript.Run(c, k.on(c), []string{k.key(key)}, old).Int()
	if err != nil {
		return wrap(ctx, "compare-and-delete", key, err)
	}
	return compared("compare-and-delete", key, n)
}

// compared maps the result of casScript and cadScript.
func compared(op, key string, n int) error {
	switch n {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("redis: %s %q: %w", op, key, storage.ErrNotFound)
	case -1:
		return fmt.Errorf("redis: %s %q: %w", op, key, storage.ErrConflict)
	default:
		return fmt.Errorf("redis: %s %q: unexpected script result %d", op, key, n)
	}
}

// SetAdd adds members to the set at key (SADD) and extends the set's ttl to at least ttl, never
// shortening it; ttl <= 0 removes the expiry. A set never expires before its longest-lived member.
func (k *KV) SetAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	c, cancel := k.call(ctx)
	defer cancel()
	args := make([]any, 0, len(members)+1)
	args = append(args, ms(ttl))
	for _, m := range members {
		args = append(args, m)
	}
	if err := setAddScript.Run(c, k.on(c), []string{k.key(key)}, args...).Err(); err != nil {
		return wrap(ctx, "set-add", key, err)
	}
	return nil
}
