package memory

import (
	"context"
	"time"

	"github.com/actas-dev/actas/storage"
)

var _ storage.IndexedCreator = (*KV)(nil)

// CreateIndexed adds member to the set at indexKey and creates key, under the store's one lock.
func (k *KV) CreateIndexed(ctx context.Context, indexKey string, indexTTL time.Duration, member, key string, value []byte, ttl time.Duration) error {
	if err := k.SetAdd(ctx, indexKey, indexTTL, member); err != nil {
		return err
	}
	return k.Create(ctx, key, value, ttl)
}
