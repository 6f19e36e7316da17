package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

var _ storage.IndexedCreator = (*KV)(nil)

// createIndexedScript: KEYS index, key; ARGV member, index-ttl-ms, value, ttl-ms. Adds member to
// the index (extending its ttl, never shortening it), then SET NX the key. Returns 1 when created,
// 0 when the key existed (the index entry is harmless then).
var createIndexedScript = redis.NewScript(`
local setkey = KEYS[1]
local existed = redis.call('EXISTS', setkey)
redis.call('SADD', setkey, ARGV[1])
local ttl = tonumber(ARGV[2])
` + luaGrowSetTTL + `
local kttl = tonumber(ARGV[4])
local ok
if kttl > 0 then
  ok = redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', kttl)
else
  ok = redis.call('SET', KEYS[2], ARGV[3], 'NX')
end
if ok then return 1 end
return 0
`)

// CreateIndexed adds member to indexKey and creates key in one script — one round trip — when
// both keys are in one slot or the server is not a Cluster; on a Cluster with keys in two slots
// it falls back to SetAdd then Create (index first).
func (k *KV) CreateIndexed(ctx context.Context, indexKey string, indexTTL time.Duration, member, key string, value []byte, ttl time.Duration) error {
	full := []string{k.key(indexKey), k.key(key)}
	if k.cluster && sameSlot(full, []string{indexKey, key}) != nil {
		if err := k.SetAdd(ctx, indexKey, indexTTL, member); err != nil {
			return err
		}
		return k.Create(ctx, key, value, ttl)
	}
	c, cancel := k.call(ctx)
	defer cancel()
	n, err := createIndexedScript.Run(c, k.on(c), full, member, ms(indexTTL), value, ms(ttl)).Int()
	if err != nil {
		return wrap(ctx, "create-indexed", key, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: create %q: %w", key, storage.ErrConflict)
	}
	return nil
}

var _ storage.WritingCreator = (*KV)(nil)

// writeCreateAllScript: KEYS are the n entries' keys, then the writes' keys; ARGV n, then value,
// ttl-ms per entry, then kind ("s": SET, "a": SADD), value, ttl-ms per write. Returns the
// 1-based index of the first entry key that exists (nothing written), or 0 once the writes are
// applied and the entries set.
var writeCreateAllScript = redis.NewScript(`
local function put(key, value, ttl)
  if ttl > 0 then
    redis.call('SET', key, value, 'PX', ttl)
  else
    redis.call('SET', key, value)
  end
end
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then return i end
end
local a = 2 + 2 * n
for i = n + 1, #KEYS do
  local ttl = tonumber(ARGV[a + 2])
  if ARGV[a] == 'a' then
    local setkey = KEYS[i]
    local existed = redis.call('EXISTS', setkey)
    redis.call('SADD', setkey, ARGV[a + 1])
` + luaGrowSetTTL + `
  else
    put(KEYS[i], ARGV[a + 1], ttl)
  end
  a = a + 3
end
for i = 1, n do
  put(KEYS[i], ARGV[2 * i], tonumber(ARGV[2 * i + 1]))
end
return 0
`)

// WriteCreateAll applies the writes and creates the entries in one script — one round trip, all
// or nothing — unless the server is a Cluster and the keys lie in several slots: then the writes
// go out concurrently, and CreateAll follows once they are all applied. The entries must share a
// slot on every deployment, as for CreateAll.
func (k *KV) WriteCreateAll(ctx context.Context, writes []storage.Write, entries []storage.Entry) error {
	if len(entries) == 0 {
		return fmt.Errorf("redis: write-create-all: no entries to create")
	}
	names := make([]string, 0, len(entries)+len(writes))
	keys := make([]string, 0, len(entries)+len(writes))
	for _, e := range entries {
		names, keys = append(names, e.Key), append(keys, k.key(e.Key))
	}
	if err := sameSlot(keys, names); err != nil {
		return fmt.Errorf("redis: write-create-all: %w", err)
	}
	for _, w := range writes {
		names, keys = append(names, w.Key), append(keys, k.key(w.Key))
	}
	if k.cluster && sameSlot(keys, names) != nil {
		if err := storage.ApplyWrites(ctx, k, writes); err != nil {
			return err
		}
		return k.CreateAll(ctx, entries)
	}
	args := make([]any, 0, 1+2*len(entries)+3*len(writes))
	args = append(args, len(entries))
	for _, e := range entries {
		args = append(args, e.Value, ms(e.TTL))
	}
	for _, w := range writes {
		kind := "s"
		if w.Add {
			kind = "a"
		}
		args = append(args, kind, w.Value, ms(w.TTL))
	}
	c, cancel := k.call(ctx)
	defer cancel()
	n, err := writeCreateAllScript.Run(c, k.on(c), keys, args...).Int()
	if err != nil {
		return wrap(ctx, "write-create-all", names[0], err)
	}
	if n < 0 || n > len(entries) {
		return fmt.Errorf("redis: write-create-all %q: unexpected script result %d", names[0], n)
	}
	if n > 0 {
		return fmt.Errorf("redis: create %q: %w", names[n-1], storage.ErrConflict)
	}
	return nil
}
