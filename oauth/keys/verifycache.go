package keys

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/internal/claims"
)

// verifyCache remembers tokens whose signature this key set has verified, so that a token used
// many times (an agent's token across exchanges, a token a resource server introspects on every
// call) costs one signature check rather than one per use. It belongs to one immutable Set: a new
// key set (rotation, removal) starts with an empty cache, so a token whose key was removed is never
// accepted from the cache. Entries are keyed by the SHA-256 of the whole compact token and live no
// longer than the token's exp; exp, nbf and iat are checked again on every hit. The cache is
// bounded: when full it is emptied (a miss only costs a signature check).
type verifyCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	tok   jwt.Token // as ParseWithClaims returned it (verified), never handed out itself
	until time.Time
}

const verifyCacheSize = 16384

func (c *verifyCache) get(token string, now time.Time) (*jwt.Token, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	t := e.tok // a copy of the verified token, its validity included
	t.Header, t.Claims = claims.Clone(e.tok.Header), claims.Clone(e.tok.Claims)
	return &t, true
}

func (c *verifyCache) put(token string, t *jwt.Token) {
	exp, ok := unixClaim(t.Claims["exp"])
	if !ok {
		return // a token without exp is never cached
	}
	until := time.Unix(exp, 0)
	if !time.Now().Before(until) {
		return
	}
	k := sha256.Sum256([]byte(token))
	e := cachedToken{tok: *t, until: until}
	e.tok.Header, e.tok.Claims = claims.Clone(t.Header), claims.Clone(t.Claims)
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= verifyCacheSize {
		c.entries = make(map[[32]byte]cachedToken, 1024)
	}
	c.entries[k] = e
	c.mu.Unlock()
}

// unixClaim reads a NumericDate claim (RFC 7519 §2) as decoded by fosite's MapClaims.
func unixClaim(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}
