package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
)

// Store is everything actas keeps, written once over a [KV]: fosite's storage (clients, client
// assertion JTIs, authorization codes, access and refresh token sessions, PKCE and OIDC requests,
// whole-grant revocation), users, login sessions and a generic record primitive.
//
// Because Store only uses the KV contract, the memory and Redis backends behave the same by
// construction; storagetest.RunTests checks both.
//
// # Key layout
//
// Keys are short, prefixed by kind; the part in braces is the Redis Cluster hash tag. The Redis
// backend adds its global prefix in front of every key.
//
//	client:{<client id>}            JSON Client                         no TTL (seeded from config)
//	clients                         set of client ids                   no TTL
//	user:{<user id>}                JSON User                           no TTL (seeded from config)
//	username:{<lower(username)>}    user id                             no TTL
//	users                           set of user ids                     no TTL
//	jti:{<sha256(jti)>}             client assertion JTI denylist       until the assertion's exp + margin
//	tok:<kind>:{<sha256(sig)>}      JSON stored request; kind is one of token expiry + margin
//	                                code, access, refresh, pkce, oidc
//	grant:{<request id>}            set of the active tok: keys of one  longest member
//	                                grant (access and refresh)
//	login:{<sha256(session id)>}    JSON LoginSession                   idle timeout, capped by ExpiresAt
//	login-sub:{<subject>}           set of sha256(session id)           longest member
//	login-clients:{<sha256(s. id)>} set of JSON LoginClient: the        the session's absolute expiry
//	                                clients told when it ends
//	rec:<kind>:{<id>}               JSON record                         caller's TTL
//	idx:<kind>:{<id>}               set (generic index)                 caller's TTL
//
// Token keys hold a hash of the signature (SHA-256, hex), never the token or signature itself, and
// login session keys a hash of the session id (the cookie's value), so that keys have a fixed
// length and neither a key listing nor an error message (which names keys) reveals a credential.
// Record ids appear in key names as they are: a caller whose id is a secret (a hand-off code)
// passes [SecretID] of it instead. A record and an index with the
// same id share a hash tag, and so do records of different kinds with the same id: that is what
// [Store.CreateRecords] relies on to write several records in one atomic step on Redis Cluster.
//
// Cross-key updates (revoking a grant key by key) are not atomic; they are idempotent and ordered
// so that a failure part way leaves nothing unrevocable: an index entry is written before the key
// it points to.
type Store struct {
	kv      KV
	opts    StoreOptions
	clients sync.Map // id → cachedClient
	decoded decodedCache
	users   userCache
	userIDs userIDList
}

// StoreOptions configures a [Store]. The zero value is usable.
type StoreOptions struct {
	// Now is the clock used for TTLs and login-session expiry; time.Now when nil.
	Now func() time.Time
	// TTLMargin is added to a token's expiry to obtain its key's TTL, so that a token that has just
	// expired is still found (and reported expired by fosite) rather than missing. Default 1 minute.
	TTLMargin time.Duration
	// DefaultTTL is the TTL of a token record whose session carries no expiry for its token type
	// (for example a refresh token with an unlimited lifespan). Default 30 days.
	DefaultTTL time.Duration
	// NewSession returns an empty session, used to decode a stored request when fosite passes no
	// prototype session (token revocation does). Default: an empty openid.DefaultSession.
	NewSession func() fosite.Session
	// MaxRetries bounds the optimistic compare-and-swap loops (UpdateRecord and the token state
	// flips). Default 100.
	MaxRetries int
	// ClientCacheTTL is how long GetClient keeps a client in memory (clients change only with the
	// configuration). Default 5 seconds; negative disables the cache.
	ClientCacheTTL time.Duration
}

const (
	defaultTTLMargin  = time.Minute
	defaultTokenTTL   = 30 * 24 * time.Hour
	defaultMaxRetries = 100
)

var (
	_ fosite.ClientManager                 = (*Store)(nil)
	_ fosite.Storage                       = (*Store)(nil)
	_ oauth2.CoreStorage                   = (*Store)(nil)
	_ oauth2.TokenRevocationStorage        = (*Store)(nil)
	_ oauth2.ClientCredentialsGrantStorage = (*Store)(nil)
	_ pkce.PKCERequestStorage              = (*Store)(nil)
	_ openid.OpenIDConnectRequestStorage   = (*Store)(nil)
)

// NewStore returns a Store over kv. The Store does not own kv beyond [Store.Close].
func NewStore(kv KV, opts StoreOptions) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TTLMargin <= 0 {
		opts.TTLMargin = defaultTTLMargin
	}
	if opts.DefaultTTL <= 0 {
		opts.DefaultTTL = defaultTokenTTL
	}
	if opts.NewSession == nil {
		opts.NewSession = func() fosite.Session { return &openid.DefaultSession{} }
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = defaultMaxRetries
	}
	if opts.ClientCacheTTL == 0 {
		opts.ClientCacheTTL = 5 * time.Second
	}
	return &Store{kv: kv, opts: opts}
}

// Ping checks that the backend answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.kv.Ping(ctx) }

// Close releases the backend's connections.
func (s *Store) Close() error { return s.kv.Close() }

// hashKey is the lowercase hex SHA-256 of v; it names token, JTI and login session keys.
func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// SecretID returns the id under which to keep a record whose natural id is a secret (a hand-off
// code, a one-time link): the lowercase hex SHA-256 of secret. Key names, and so error messages
// and a key listing, then never contain the secret, and the record is still found by
// presenting it.
func SecretID(secret string) string { return hashKey(secret) }

// ttlUntil is the TTL of a key that must outlive exp by the margin. A zero exp gets DefaultTTL; an
// exp already in the past still gets the margin, so that the record is written with a positive TTL
// (a KV ttl of 0 would mean "forever") and fosite reports the token expired rather than unknown.
func (s *Store) ttlUntil(exp time.Time) time.Duration {
	if exp.IsZero() {
		return s.opts.DefaultTTL
	}
	return max(exp.Sub(s.opts.Now()), 0) + s.opts.TTLMargin
}

// errRetry is returned by a compare-and-swap attempt whose precondition failed because the value
// changed meanwhile; casLoop then tries again. Any other error ends the loop as it is, so an
// ErrConflict that means something else (a taken username, a refused predicate) is not retried.
var errRetry = errors.New("storage: value changed concurrently")

// retryOnConflict maps a KV ErrConflict to errRetry.
func retryOnConflict(err error) error {
	if errors.Is(err, ErrConflict) {
		return errRetry
	}
	return err
}

// backoff sleeps a short, growing, jittered time before retry attempt n (n ≥ 1) of a
// compare-and-swap loop, or returns early with the context's error.
func backoff(ctx context.Context, n int) error {
	ceiling := time.Duration(50<<min(n, 7)) * time.Microsecond // 100µs … 6.4ms
	t := time.NewTimer(rand.N(ceiling) + 10*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// casLoop runs attempt until it returns anything but errRetry, at most MaxRetries times; then it
// gives up with ErrConflict.
func (s *Store) casLoop(ctx context.Context, what string, attempt func() error) error {
	for n := 0; ; n++ {
		if n > 0 {
			if err := backoff(ctx, n); err != nil {
				return fmt.Errorf("storage: %s: %w", what, err)
			}
		}
		err := attempt()
		if !errors.Is(err, errRetry) {
			return err
		}
		if n+1 >= s.opts.MaxRetries {
			return fmt.Errorf("storage: %s: gave up after %d concurrent changes: %w", what, n+1, ErrConflict)
		}
	}
}
