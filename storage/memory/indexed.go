package memory

import (
	"context"
	"fmt"
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

var _ storage.WritingCreator = (*KV)(nil)

// WriteCreateAll applies the writes and creates the entries under the store's one lock: all or
// nothing.
func (k *KV) WriteCreateAll(ctx context.Context, writes []storage.Write, entries []storage.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.sweepLocked(now)
	for _, e := range entries {
		if _, ok := k.getLocked(e.Key, now); ok {
			return fmt.Errorf("memory: create %q: %w", e.Key, storage.ErrConflict)
		}
	}
	for _, w := range writes {
		if w.Add {
			k.setAddLocked(w.Key, w.TTL, now, string(w.Value))
		} else {
			k.setLocked(w.Key, w.Value, w.TTL, now)
		}
	}
	for _, e := range entries {
		k.setLocked(e.Key, e.Value, e.TTL, now)
	}
	return nil
}
