package storage

import (
	"bytes"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ory/fosite"
)

// decodedCache remembers token records this process has decoded, so that a token used many times
// (an agent's token across exchanges, a token a resource server introspects on every call) costs
// one JSON decode rather than one per use. It never saves a read: every use still reads the record
// from the backend, and the cached decoding is used only when the bytes read are exactly the bytes
// it was decoded from, so a revocation, a rotation or any other change made by any replica is seen
// at once. Entries are keyed by the record's key and bounded in number; when full the cache is
// emptied (a miss only costs a decode).
type decodedCache = boundedMap[decodedEntry]

// boundedMap is a map for decoding caches, safe for concurrent use, holding at most
// decodedCacheSize entries: when full it is emptied (a miss only costs a decode).
type boundedMap[V any] struct {
	mu      sync.Mutex
	entries map[string]V
}

func (b *boundedMap[V]) load(key string) (V, bool) {
	b.mu.Lock()
	v, ok := b.entries[key]
	b.mu.Unlock()
	return v, ok
}

func (b *boundedMap[V]) store(key string, v V) {
	b.mu.Lock()
	if b.entries == nil || len(b.entries) >= decodedCacheSize {
		b.entries = make(map[string]V, 1024)
	}
	b.entries[key] = v
	b.mu.Unlock()
}

type decodedEntry struct {
	raw     []byte
	sr      *storedRequest // never handed out: copied by use
	session fosite.Session // decoded from sr.Session; never handed out: copied by use
	until   time.Time
}

const decodedCacheSize = 8192

// sessionCopier is implemented by session types that can become a deep copy of another session
// of their type (oauth.Session); only those use the cache.
type sessionCopier interface {
	CopyFrom(fosite.Session) bool
}

// fresh returns the entry of key when it was decoded from exactly raw and is still valid at now.
func fresh(c *decodedCache, key string, raw []byte, now time.Time) (decodedEntry, bool) {
	e, ok := c.load(key)
	if !ok || !now.Before(e.until) || !bytes.Equal(e.raw, raw) {
		return decodedEntry{}, false
	}
	return e, true
}

// copyStored returns a copy of sr that shares nothing mutable with it.
func copyStored(sr *storedRequest) *storedRequest {
	c := *sr
	c.RequestedScope = slices.Clone(sr.RequestedScope)
	c.GrantedScope = slices.Clone(sr.GrantedScope)
	c.RequestedAudience = slices.Clone(sr.RequestedAudience)
	c.GrantedAudience = slices.Clone(sr.GrantedAudience)
	if sr.Form != nil {
		c.Form = maps.Clone(sr.Form)
		for k, v := range c.Form {
			c.Form[k] = slices.Clone(v)
		}
	}
	c.Session = nil // the session comes from the cached decoding
	return &c
}

// userCache is decodedCache for user records: GetUser still reads the record on every call and
// uses the cached decoding only when the bytes read are exactly those it was decoded from, so an
// update or a disabling by any replica is seen at once.
type userCache struct{ m boundedMap[cachedUser] }

type cachedUser struct {
	raw []byte
	u   User // never handed out: copied by use
}

func (c *userCache) get(id string, raw []byte) (*User, bool) {
	e, ok := c.m.load(id)
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	u := e.u
	u.Roles = slices.Clone(e.u.Roles)
	return &u, true
}

func (c *userCache) put(id string, raw []byte, u *User) {
	e := cachedUser{raw: raw, u: *u}
	e.u.Roles = slices.Clone(u.Roles)
	c.m.store(id, e)
}
