package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxDocumentSize bounds a fetched JWKS or discovery document.
const maxDocumentSize = 1 << 20

// Errors of the foreign key cache.
var (
	ErrUnknownKey = errors.New("exchange: no key of the trusted issuer matches the token")
	ErrJWKSFetch  = errors.New("exchange: the trusted issuer's keys could not be fetched")
)

// keyCache holds one trusted issuer's public signing keys. Keys are fetched on first use, again
// when CacheTTL has passed, and again when a token names an unknown kid, but never more than once
// per RefreshInterval (counted from the last attempt, failed or not), so a flood of tokens with
// made-up kids cannot turn actas into a load generator against the issuer. While a fetch fails,
// the keys fetched before stay in use.
type keyCache struct {
	cfg    *TrustedIssuer
	client *http.Client
	now    func() time.Time

	fetchMu sync.Mutex // one fetch at a time

	mu          sync.RWMutex
	keys        []jose.JSONWebKey
	fetchedAt   time.Time // last successful fetch
	attemptedAt time.Time // last attempt
	jwksURL     string    // resolved through discovery when not configured
	fetches     int       // successful and failed attempts (for tests and metrics)
}

func newKeyCache(cfg *TrustedIssuer, client *http.Client, now func() time.Time) *keyCache {
	return &keyCache{cfg: cfg, client: client, now: now, jwksURL: cfg.JWKSURL}
}

// key returns the key for a token header (kid, alg). A token without kid is accepted only when
// exactly one key of the set can verify alg.
func (c *keyCache) key(ctx context.Context, kid, alg string) (*jose.JSONWebKey, error) {
	now := c.now()
	c.mu.RLock()
	stale := c.fetchedAt.IsZero() || now.Sub(c.fetchedAt) >= c.cfg.CacheTTL
	attempted := c.attemptedAt
	c.mu.RUnlock()
	mayFetch := attempted.IsZero() || now.Sub(attempted) >= c.cfg.RefreshInterval
	if stale && mayFetch {
		if err := c.refresh(ctx, attempted); err != nil && !c.hasKeys() {
			return nil, err
		}
		mayFetch = false // this request has had its fetch
	}
	if k := c.find(kid, alg); k != nil {
		return k, nil
	}
	if !c.hasKeys() {
		return nil, fmt.Errorf("%w: no keys yet; the last fetch failed", ErrJWKSFetch)
	}
	if !mayFetch {
		return nil, fmt.Errorf("%w (kid %.40q)", ErrUnknownKey, kid)
	}
	if err := c.refresh(ctx, attempted); err != nil {
		return nil, err
	}
	if k := c.find(kid, alg); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w (kid %.40q)", ErrUnknownKey, kid)
}

func (c *keyCache) hasKeys() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys) > 0
}

func (c *keyCache) find(kid, alg string) *jose.JSONWebKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var match *jose.JSONWebKey
	n := 0
	for i := range c.keys {
		k := &c.keys[i]
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if kid != "" {
			if k.KeyID == kid {
				return k
			}
			continue
		}
		match = k
		n++
	}
	if n == 1 {
		return match
	}
	return nil
}

// refresh fetches the keys unless another caller attempted a fetch after seenAttempt (then its
// result is used): concurrent requests that miss share one fetch.
func (c *keyCache) refresh(ctx context.Context, seenAttempt time.Time) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	c.mu.RLock()
	again := c.attemptedAt.After(seenAttempt)
	c.mu.RUnlock()
	if again {
		return nil
	}
	// The fetch is shared (and counted as this interval's attempt): it must not end with the
	// request that happened to start it, or a caller that hangs up at once could spend the
	// interval's fetch on nothing. The HTTP client's timeout bounds it.
	keys, url, err := c.fetch(context.WithoutCancel(ctx))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attemptedAt = c.now()
	c.fetches++
	if err != nil {
		return err
	}
	c.keys, c.fetchedAt, c.jwksURL = keys, c.attemptedAt, url
	return nil
}

// fetch resolves the JWKS URL (discovery when not configured) and reads the key set, keeping only
// asymmetric public signing keys.
func (c *keyCache) fetch(ctx context.Context) ([]jose.JSONWebKey, string, error) {
	c.mu.RLock()
	url := c.jwksURL
	c.mu.RUnlock()
	if url == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := c.getJSON(ctx, strings.TrimSuffix(c.cfg.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, "", err
		}
		if doc.Issuer != c.cfg.Issuer || doc.JWKSURI == "" {
			return nil, "", fmt.Errorf("%w: the discovery document of %q names another issuer or no jwks_uri", ErrJWKSFetch, c.cfg.Issuer)
		}
		url = doc.JWKSURI
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := c.getJSON(ctx, url, &set); err != nil {
		return nil, "", err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil || !k.Valid() || !k.IsPublic() {
			continue // unparseable, private or symmetric ("oct") keys are never used
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		keys = append(keys, k.Public())
	}
	if len(keys) == 0 {
		return nil, "", fmt.Errorf("%w: no usable signing key in the JWKS of %q", ErrJWKSFetch, c.cfg.Issuer)
	}
	return keys, url, nil
}

func (c *keyCache) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: status %d", ErrJWKSFetch, url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	if len(body) > maxDocumentSize {
		return fmt.Errorf("%w: GET %s: document larger than %d bytes", ErrJWKSFetch, url, maxDocumentSize)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrJWKSFetch, url, err)
	}
	return nil
}

// fetchCount returns the number of fetch attempts so far.
func (c *keyCache) fetchCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.fetches
}
