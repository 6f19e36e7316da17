package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

var _ storage.AddingReader = (*KV)(nil)

// setAddGetScript: KEYS set, key; ARGV member, set-ttl-ms. Adds member to the set (extending its
// ttl, never shortening it, as SetAdd), then returns GET key (nil when missing).
var setAddGetScript = redis.NewScript(`
local setkey = KEYS[1]
local existed = redis.call('EXISTS', setkey)
redis.call('SADD', setkey, ARGV[1])
local ttl = tonumber(ARGV[2])
` + luaGrowSetTTL + `
return redis.call('GET', KEYS[2])
`)

// SetAddGet adds member to setKey and reads getKey in one script — one round trip — when both
// keys are in one slot or the server is not a Cluster; on a Cluster with keys in two slots it
// falls back to SetAdd then Get.
func (k *KV) SetAddGet(ctx context.Context, setKey string, ttl time.Duration, member, getKey string) ([]byte, error) {
	full := []string{k.key(setKey), k.key(getKey)}
	if k.cluster && sameSlot(full, []string{setKey, getKey}) != nil {
		if err := k.SetAdd(ctx, setKey, ttl, member); err != nil {
			return nil, err
		}
		return k.Get(ctx, getKey)
	}
	c, cancel := k.call(ctx)
	defer cancel()
	v, err := setAddGetScript.Run(c, k.on(c), full, member, ms(ttl)).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("redis: get %q: %w", getKey, storage.ErrNotFound)
	case err != nil:
		return nil, wrap(ctx, "set-add-get", getKey, err)
	}
	return []byte(v), nil
}
