package storage

import (
	"context"
	"errors"
	"sync"
	"time"
)

// KV is the contract a storage backend implements. Keys are opaque strings chosen by [Store]; a
// backend may add a prefix. A ttl of 0 means "no expiry" and is used only for records that are
// seeded from configuration (clients, users); every ephemeral record carries a positive ttl.
//
// Every method either completes or returns an error; a backend that cannot reach its server wraps
// [ErrUnavailable]. No method leaves a partial result behind.
type KV interface {
	// Get returns the value, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set writes the value unconditionally.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Create writes the value only if the key does not exist; otherwise ErrConflict.
	Create(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// CreateAll writes every entry only if none of the keys exists, atomically: all or nothing.
	// Otherwise it returns ErrConflict with the first existing key's name in the error text.
	// All keys must share a hash tag (Redis Cluster); a backend may refuse keys that do not.
	CreateAll(ctx context.Context, entries []Entry) error
	// CompareAndSwap replaces the value only if it currently equals old, and sets the new ttl.
	// ErrNotFound if the key is missing, ErrConflict if the value differs.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error
	// CompareAndDelete deletes the key only if its value equals old. ErrNotFound if missing,
	// ErrConflict if the value differs.
	CompareAndDelete(ctx context.Context, key string, old []byte) error
	// Delete removes the keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// SetAdd adds members to the set at key and extends the set's ttl to at least ttl
	// (a set never expires before its longest-lived member).
	SetAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error
	// SetRemove removes members from the set; missing ones are not an error.
	SetRemove(ctx context.Context, key string, members ...string) error
	// SetMembers returns the members (in no particular order); an empty or missing set gives nil.
	SetMembers(ctx context.Context, key string) ([]string, error)
	// TTL returns the remaining time to live; 0 for a key without expiry; ErrNotFound if missing.
	TTL(ctx context.Context, key string) (time.Duration, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}

// Entry is one key of a [KV.CreateAll].
type Entry struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// IndexedCreator is an optional KV capability: Create of key plus SetAdd of member to indexKey in
// one round trip. A backend that can do both atomically does; otherwise it must add to the index
// first, so that no key exists without its index entry. [Store] uses it when available to issue a
// token with one storage round trip instead of two.
type IndexedCreator interface {
	CreateIndexed(ctx context.Context, indexKey string, indexTTL time.Duration, member, key string, value []byte, ttl time.Duration) error
}

// AddingReader is an optional KV capability: SetAdd of member to setKey, then Get of getKey, in one
// round trip. The add always comes before the read (a writer that changes getKey and then reads
// the set sees the member, or this read sees the change). The member is added even when getKey is
// missing (ErrNotFound). The representation service records a grant with it.
type AddingReader interface {
	SetAddGet(ctx context.Context, setKey string, ttl time.Duration, member, getKey string) ([]byte, error)
}

// AddThenGet adds member to the set at setKey (as SetAdd), then reads getKey: in one round trip
// where kv is an [AddingReader], else SetAdd then Get. The member is added even when getKey is
// missing (ErrNotFound).
func AddThenGet(ctx context.Context, kv KV, setKey string, ttl time.Duration, member, getKey string) ([]byte, error) {
	if ar, ok := kv.(AddingReader); ok {
		return ar.SetAddGet(ctx, setKey, ttl, member, getKey)
	}
	if err := kv.SetAdd(ctx, setKey, ttl, member); err != nil {
		return nil, err
	}
	return kv.Get(ctx, getKey)
}

// Write is one write of [WritingCreator.WriteCreateAll]: a Set of Value at Key, or with Add a
// SetAdd of the member Value to the set at Key (the set's ttl only grows, as SetAdd does it).
type Write struct {
	Key   string
	Value []byte
	TTL   time.Duration
	Add   bool
}

// WritingCreator is an optional KV capability: the writes, then CreateAll of entries, in one round
// trip and atomically where the backend can (Redis: one script, unless the server is a Cluster and
// the keys lie in several slots). The entries must share a hash tag, as for CreateAll; the writes
// may be anywhere. The writes are never applied after the creation, so that no created key exists
// without them. On ErrConflict an atomic backend wrote nothing and another one may have applied the
// writes: the caller undoes them either way, as after a failed CreateAll (undoing nothing is
// harmless). The representation service opens a session with it: its pointer and three index
// entries, then its lock and record.
type WritingCreator interface {
	WriteCreateAll(ctx context.Context, writes []Write, entries []Entry) error
}

// ApplyWrites applies the writes concurrently, each with kv's Set or SetAdd, and returns their errors
// joined: the step-by-step form of [WritingCreator.WriteCreateAll]'s writes, for a backend (or a
// Cluster's keys) that cannot take them in one step.
func ApplyWrites(ctx context.Context, kv KV, writes []Write) error {
	return eachWrite(writes, func(w Write) error {
		if w.Add {
			return kv.SetAdd(ctx, w.Key, w.TTL, string(w.Value))
		}
		return kv.Set(ctx, w.Key, w.Value, w.TTL)
	})
}

// UndoWrites undoes writes whose keys belong to the caller alone, concurrently: a Set is deleted, a
// SetAdd's member removed again. It returns the errors joined (undoing what was never applied is
// harmless).
func UndoWrites(ctx context.Context, kv KV, writes []Write) error {
	return eachWrite(writes, func(w Write) error {
		if w.Add {
			return kv.SetRemove(ctx, w.Key, string(w.Value))
		}
		return kv.Delete(ctx, w.Key)
	})
}

// eachWrite runs f for every write concurrently and joins the errors.
func eachWrite(writes []Write, f func(Write) error) error {
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = f(w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
