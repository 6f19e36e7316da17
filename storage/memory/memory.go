// Package memory is the embedded storage backend: a [storage.KV] held in process memory behind one
// lock for the whole store, with expiry enforced on every read. It is the default for --dev and for
// a laptop; it is not shared between processes and loses everything on restart.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/actas-dev/actas/storage"
)

// KV is an in-memory [storage.KV]. The zero value is not usable; call [New].
type KV struct {
	mu   sync.Mutex
	now  func() time.Time
	vals map[string]entry
	sets map[string]setEntry
	// sweepEvery bounds how often expired entries are removed in bulk.
	lastSweep time.Time
}

type entry struct {
	val []byte
	exp time.Time // zero: no expiry
}

type setEntry struct {
	members map[string]struct{}
	exp     time.Time
}

var _ storage.KV = (*KV)(nil)

// Option configures a KV.
type Option func(*KV)

// WithClock sets the clock used for expiry (tests).
func WithClock(now func() time.Time) Option { return func(k *KV) { k.now = now } }

// New returns an empty store.
func New(opts ...Option) *KV {
	k := &KV{now: time.Now, vals: map[string]entry{}, sets: map[string]setEntry{}}
	for _, o := range opts {
		o(k)
	}
	return k
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

func live(exp, now time.Time) bool { return exp.IsZero() || now.Before(exp) }

// getLocked returns the live entry; callers hold mu.
func (k *KV) getLocked(key string, now time.Time) (entry, bool) {
	e, ok := k.vals[key]
	if !ok {
		return entry{}, false
	}
	if !live(e.exp, now) {
		delete(k.vals, key)
		return entry{}, false
	}
	return e, true
}

// sweepLocked drops expired entries at most once a minute, so memory stays bounded without a
// background goroutine.
func (k *KV) sweepLocked(now time.Time) {
	if now.Sub(k.lastSweep) < time.Minute {
		return
	}
	k.lastSweep = now
	for key, e := range k.vals {
		if !live(e.exp, now) {
			delete(k.vals, key)
		}
	}
	for key, s := range k.sets {
		if !live(s.exp, now) {
			delete(k.sets, key)
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func (k *KV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.getLocked(key, k.now())
	if !ok {
		return nil, fmt.Errorf("memory: get %q: %w", key, storage.ErrNotFound)
	}
	return clone(e.val), nil
}

func (k *KV) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.sweepLocked(now)
	k.setLocked(key, value, ttl, now)
	return nil
}

// setLocked is Set's work; callers hold mu.
func (k *KV) setLocked(key string, value []byte, ttl time.Duration, now time.Time) {
	k.vals[key] = entry{val: clone(value), exp: expiry(now, ttl)}
}

func (k *KV) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return k.CreateAll(ctx, []storage.Entry{{Key: key, Value: value, TTL: ttl}})
}

func (k *KV) CreateAll(ctx context.Context, entries []storage.Entry) error {
	return k.WriteCreateAll(ctx, nil, entries)
}

func (k *KV) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	e, ok := k.getLocked(key, now)
	if !ok {
		return fmt.Errorf("memory: compare-and-swap %q: %w", key, storage.ErrNotFound)
	}
	if !bytes.Equal(e.val, old) {
		return fmt.Errorf("memory: compare-and-swap %q: %w", key, storage.ErrConflict)
	}
	k.vals[key] = entry{val: clone(value), exp: expiry(now, ttl)}
	return nil
}

func (k *KV) CompareAndDelete(ctx context.Context, key string, old []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.getLocked(key, k.now())
	if !ok {
		return fmt.Errorf("memory: compare-and-delete %q: %w", key, storage.ErrNotFound)
	}
	if !bytes.Equal(e.val, old) {
		return fmt.Errorf("memory: compare-and-delete %q: %w", key, storage.ErrConflict)
	}
	delete(k.vals, key)
	return nil
}

func (k *KV) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range keys {
		delete(k.vals, key)
		delete(k.sets, key)
	}
	return nil
}

func (k *KV) SetAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.setAddLocked(key, ttl, k.now(), members...)
	return nil
}

// setAddLocked is SetAdd's work; callers hold mu.
func (k *KV) setAddLocked(key string, ttl time.Duration, now time.Time, members ...string) {
	s, ok := k.sets[key]
	if !ok || !live(s.exp, now) {
		s = setEntry{members: map[string]struct{}{}, exp: expiry(now, ttl)}
	}
	for _, m := range members {
		s.members[m] = struct{}{}
	}
	if exp := expiry(now, ttl); ttl <= 0 {
		s.exp = time.Time{}
	} else if !s.exp.IsZero() && exp.After(s.exp) {
		s.exp = exp
	}
	k.sets[key] = s
}

func (k *KV) SetRemove(ctx context.Context, key string, members ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.sets[key]
	if !ok {
		return nil
	}
	for _, m := range members {
		delete(s.members, m)
	}
	if len(s.members) == 0 {
		delete(k.sets, key)
	}
	return nil
}

func (k *KV) SetMembers(ctx context.Context, key string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.sets[key]
	if !ok || !live(s.exp, k.now()) {
		delete(k.sets, key)
		return nil, nil
	}
	out := make([]string, 0, len(s.members))
	for m := range s.members {
		out = append(out, m)
	}
	return out, nil
}

func (k *KV) TTL(ctx context.Context, key string) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if e, ok := k.getLocked(key, now); ok {
		if e.exp.IsZero() {
			return 0, nil
		}
		return e.exp.Sub(now), nil
	}
	if s, ok := k.sets[key]; ok && live(s.exp, now) {
		if s.exp.IsZero() {
			return 0, nil
		}
		return s.exp.Sub(now), nil
	}
	return 0, fmt.Errorf("memory: ttl %q: %w", key, storage.ErrNotFound)
}

func (k *KV) Ping(ctx context.Context) error { return ctx.Err() }

func (k *KV) Close() error { return nil }
