// Package redis is the shared storage backend: a [storage.KV] on a go-redis v9 UniversalClient, so
// that one [Options] value selects a single server, Sentinel or Redis Cluster. Import it under
// another name where it clashes with go-redis (redisstore "github.com/actas-dev/actas/storage/redis").
//
// What it guarantees:
//
//   - Every key carries [Options.KeyPrefix]; every ephemeral key a TTL (PX / PEXPIRE in
//     milliseconds; a ttl of 0 means no expiry, as in [storage.KV]).
//   - Every call runs under context.WithTimeout ([Options.Timeout], default 500ms), so an unreachable
//     or stuck Redis turns into an error wrapping [storage.ErrUnavailable] within that time.
//     Transport faults, our own deadline, an exhausted pool, and the replies LOADING, CLUSTERDOWN,
//     READONLY, MASTERDOWN, TRYAGAIN, NOREPLICAS and BUSY count as unavailable; redis.Nil becomes
//     [storage.ErrNotFound]. Errors name the operation and the key, never a value (values may be
//     tokens).
//   - The atomic primitives are single commands or Lua scripts: Create is SET NX PX; CreateAll,
//     CompareAndSwap, CompareAndDelete and SetAdd are scripts. The keys of one CreateAll must share a
//     hash tag ({...}) so that they live in one Cluster slot; keys that do not are refused with
//     [ErrCrossSlot] on every deployment, so tests against a single server catch it.
//   - go-redis does not retry commands (MaxRetries -1): a script whose reply was lost may have run,
//     and running it again would report a false conflict. The Cluster client still retries once
//     after a connection drops mid-command (go-redis's own redirect loop), so on a Cluster that rare
//     case can surface as ErrConflict.
//   - After Redis goes away and comes back, the same [KV] recovers without being recreated.
//
// Later features that need their own scripts use [KV.Client] and [KV.Prefix], and [KeySlot] to keep
// a script's keys in one slot.
//
// This package imports storage and go-redis only; it knows nothing of OAuth.
package redis
