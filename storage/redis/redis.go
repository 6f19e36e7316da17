package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

// KV is a [storage.KV] on a go-redis v9 UniversalClient: one server, Sentinel or Cluster. It is safe
// for concurrent use. After Redis goes away and comes back, the same KV works again: go-redis drops
// dead connections from its pool and dials new ones.
type KV struct {
	rdb     redis.UniversalClient
	cmd     commander // rdb, or its automatic pipeliner (Options.AutoPipeline)
	prefix  string
	timeout time.Duration
	cluster bool
	addrs   []string
}

var _ storage.KV = (*KV)(nil)

// commander is what the data commands run on.
type commander interface {
	redis.Cmdable
	redis.Scripter
}

// New builds the client that o selects and pings it once. When Redis does not answer, the error
// wraps [storage.ErrUnavailable] and names the address(es), never a password, so that the server
// can refuse to start with one line. Invalid options wrap [ErrInvalidOptions].
func New(ctx context.Context, o Options) (*KV, error) {
	c, err := o.build()
	if err != nil {
		return nil, err
	}
	k := &KV{rdb: c.rdb, cmd: c.rdb, prefix: o.KeyPrefix, timeout: o.timeout(), cluster: c.cluster, addrs: c.addrs}
	if o.AutoPipeline {
		type pipeliner interface {
			AutoPipeline() (*redis.AutoPipeliner, error)
		}
		if a, ok := c.rdb.(pipeliner); ok {
			p, err := a.AutoPipeline()
			if err != nil {
				_ = c.rdb.Close()
				return nil, fmt.Errorf("redis: automatic pipelining: %w", err)
			}
			k.cmd = p
		}
	}
	pc, cancel := k.call(ctx)
	defer cancel()
	if err := k.ping(pc); err != nil {
		_ = c.rdb.Close()
		where := strings.Join(c.addrs, ",")
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("redis: ping %s: %w", where, ctx.Err())
		case unavailable(err):
			return nil, fmt.Errorf("redis: cannot reach %s: %w: %w", where, storage.ErrUnavailable, err)
		default:
			return nil, fmt.Errorf("redis: ping %s: %w", where, err)
		}
	}
	return k, nil
}

// Client returns the underlying go-redis client, for features that bring their own scripts. Such
// callers must prefix their keys with [KV.Prefix], keep the keys of one script in one hash slot
// ([KeySlot]) and bound their calls with a context deadline.
func (k *KV) Client() redis.UniversalClient { return k.rdb }

// Prefix returns the key prefix from [Options.KeyPrefix].
func (k *KV) Prefix() string { return k.prefix }

// key returns the Redis key for a storage key.
func (k *KV) key(key string) string { return k.prefix + key }

// on returns what a command under ctx runs on: the pipeliner, or the plain client once ctx has
// ended (the pipeliner would still send the command; the plain client refuses it with ctx's error).
func (k *KV) on(ctx context.Context) commander {
	if ctx.Err() != nil {
		return k.rdb
	}
	return k.cmd
}

// call returns the context every Redis call runs under: ctx bounded by the timeout. With automatic
// pipelining ctx is returned as it is: the pipeliner does not honour a queued command's deadline,
// and the connection's read and write deadlines (the same timeout) bound the call instead, so a
// timer per call would only cost (about 4% of a token request).
func (k *KV) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, pipelined := k.cmd.(*redis.AutoPipeliner); pipelined {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, k.timeout)
}

// ms converts a storage ttl to whole milliseconds for PX/PEXPIRE: 0 (no expiry) for ttl <= 0, and
// at least 1 for a positive ttl.
func ms(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return max(ttl.Milliseconds(), 1)
}

// Get returns the value, or an error wrapping [storage.ErrNotFound].
func (k *KV) Get(ctx context.Context, key string) ([]byte, error) {
	c, cancel := k.call(ctx)
	defer cancel()
	v, err := k.on(c).Get(c, k.key(key)).Bytes()
	if err != nil {
		return nil, wrap(ctx, "get", key, err)
	}
	return v, nil
}

// Set writes the value unconditionally (SET, with PX when ttl > 0).
func (k *KV) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c, cancel := k.call(ctx)
	defer cancel()
	if err := k.on(c).Set(c, k.key(key), value, time.Duration(ms(ttl))*time.Millisecond).Err(); err != nil {
		return wrap(ctx, "set", key, err)
	}
	return nil
}

// Create writes the value only if the key does not exist (SET NX PX); otherwise ErrConflict.
func (k *KV) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c, cancel := k.call(ctx)
	defer cancel()
	ok, err := k.on(c).SetNX(c, k.key(key), value, time.Duration(ms(ttl))*time.Millisecond).Result()
	if err != nil {
		return wrap(ctx, "create", key, err)
	}
	if !ok {
		return fmt.Errorf("redis: create %q: %w", key, storage.ErrConflict)
	}
	return nil
}

// Delete removes the keys (DEL); missing keys are not an error. On a Cluster, keys in different
// slots are deleted by one DEL per slot, pipelined; that is not atomic across slots.
func (k *KV) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	c, cancel := k.call(ctx)
	defer cancel()
	full := make([]string, len(keys))
	for i, key := range keys {
		full[i] = k.key(key)
	}
	if !k.cluster || sameSlot(full, keys) == nil {
		if err := k.on(c).Del(c, full...).Err(); err != nil {
			return wrap(ctx, "delete", keys[0], err)
		}
		return nil
	}
	bySlot := map[int][]string{}
	for _, f := range full {
		s := KeySlot(f)
		bySlot[s] = append(bySlot[s], f)
	}
	_, err := k.on(c).Pipelined(c, func(p redis.Pipeliner) error {
		for _, group := range bySlot {
			p.Del(c, group...)
		}
		return nil
	})
	if err != nil {
		return wrap(ctx, "delete", keys[0], err)
	}
	return nil
}

// TTL returns the remaining time to live (PTTL): 0 for a key without expiry, an error wrapping
// ErrNotFound for a missing key.
func (k *KV) TTL(ctx context.Context, key string) (time.Duration, error) {
	c, cancel := k.call(ctx)
	defer cancel()
	d, err := k.on(c).PTTL(c, k.key(key)).Result()
	switch {
	case err != nil:
		return 0, wrap(ctx, "ttl", key, err)
	case d == -2:
		return 0, fmt.Errorf("redis: ttl %q: %w", key, storage.ErrNotFound)
	case d == -1:
		return 0, nil
	case d <= 0:
		// PTTL answers 0 for a key in its last millisecond: alive, about to expire. 0 here would
		// mean "no expiry", and a caller keeping the TTL would make the key permanent.
		return time.Millisecond, nil
	}
	return d, nil
}

// SetRemove removes members from the set (SREM); missing ones are not an error.
func (k *KV) SetRemove(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	c, cancel := k.call(ctx)
	defer cancel()
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if err := k.on(c).SRem(c, k.key(key), args...).Err(); err != nil {
		return wrap(ctx, "set-remove", key, err)
	}
	return nil
}

// SetMembers returns the members (SMEMBERS); an empty or missing set gives nil.
func (k *KV) SetMembers(ctx context.Context, key string) ([]string, error) {
	c, cancel := k.call(ctx)
	defer cancel()
	members, err := k.on(c).SMembers(c, k.key(key)).Result()
	if err != nil {
		return nil, wrap(ctx, "set-members", key, err)
	}
	if len(members) == 0 {
		return nil, nil
	}
	return members, nil
}

// MemoryUsage returns the bytes Redis uses for the key (MEMORY USAGE), or an error wrapping
// ErrNotFound. For benchmarks and capacity planning.
func (k *KV) MemoryUsage(ctx context.Context, key string) (int64, error) {
	c, cancel := k.call(ctx)
	defer cancel()
	n, err := k.rdb.MemoryUsage(c, k.key(key)).Result()
	if err != nil {
		return 0, wrap(ctx, "memory-usage", key, err)
	}
	return n, nil
}

// Ping checks that Redis answers; on a Cluster, that every master does.
func (k *KV) Ping(ctx context.Context) error {
	c, cancel := k.call(ctx)
	defer cancel()
	if err := k.ping(c); err != nil {
		return wrap(ctx, "ping", strings.Join(k.addrs, ","), err)
	}
	return nil
}

func (k *KV) ping(ctx context.Context) error {
	if cc, ok := k.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.Ping(ctx).Err()
		})
	}
	return k.rdb.Ping(ctx).Err()
}

// Close releases the connections. Calls after Close fail with ErrUnavailable.
func (k *KV) Close() error { return k.rdb.Close() }
