package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
)

// ErrCrossSlot: the keys of one atomic operation do not hash to one Redis Cluster slot. It is a
// programming error (the caller must give the keys a common hash tag, "{grant-id}:..."), reported
// on every deployment, not only on a Cluster, so that tests against a single Redis catch it.
var ErrCrossSlot = errors.New("redis: keys of one atomic operation must share a hash tag")

// ErrInvalidOptions: [Options] are incomplete or contradictory.
var ErrInvalidOptions = errors.New("redis: invalid options")

// unavailableReplies are the prefixes of server replies that mean "this server cannot serve now"
// rather than "this request is wrong": loading its data set, cluster without quorum, a replica after
// a failover, a master without replicas, busy running a script, out of client slots, out of memory
// (maxmemory reached), and on Cluster a slot still moving after the client's redirects ran out.
var unavailableReplies = []string{
	"LOADING ", "CLUSTERDOWN ", "READONLY ", "MASTERDOWN ", "TRYAGAIN ", "NOREPLICAS ",
	"BUSY ", "ERR max number of clients reached", "OOM ", "MOVED ", "ASK ",
}

// unavailable reports whether err means Redis could not be reached or did not answer in time.
// Anything that is not a reply from the server (dial errors, i/o timeouts, EOF, our own deadline,
// an exhausted pool, a closed client) counts, so that an unforeseen transport fault fails closed;
// among server replies only the ones in unavailableReplies do.
func unavailable(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true
	}
	if redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) {
		return true
	}
	msg := reply.Error()
	for _, p := range unavailableReplies {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// wrap turns a go-redis error into one that callers test with errors.Is: redis.Nil becomes
// [storage.ErrNotFound]; when the caller's own context ended, its error is returned as is (the
// caller gave up, the backend did not fail); transport faults and the replies in
// unavailableReplies wrap [storage.ErrUnavailable]. The text names the operation and the key,
// never a value.
func wrap(parent context.Context, op, key string, err error) error {
	switch {
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("redis: %s %q: %w", op, key, storage.ErrNotFound)
	case parent.Err() != nil:
		return fmt.Errorf("redis: %s %q: %w", op, key, parent.Err())
	case unavailable(err):
		return fmt.Errorf("redis: %s %q: %w: %w", op, key, storage.ErrUnavailable, err)
	default:
		return fmt.Errorf("redis: %s %q: %w", op, key, err)
	}
}
