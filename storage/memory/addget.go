package memory

import (
	"context"
	"time"

	"github.com/actas-dev/actas/storage"
)

var _ storage.AddingReader = (*KV)(nil)

// SetAddGet adds member to the set at setKey, then reads getKey.
func (k *KV) SetAddGet(ctx context.Context, setKey string, ttl time.Duration, member, getKey string) ([]byte, error) {
	if err := k.SetAdd(ctx, setKey, ttl, member); err != nil {
		return nil, err
	}
	return k.Get(ctx, getKey)
}
