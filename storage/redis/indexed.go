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
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
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
