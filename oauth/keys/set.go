package keys

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unicode"

	jose3 "github.com/go-jose/go-jose/v3"
	jose4 "github.com/go-jose/go-jose/v4"
)

// maxKIDLen bounds a kid; it travels in every token header.
const maxKIDLen = 128

// entry is one key of a set with what verification needs precomputed.
type entry struct {
	key Key
	// verifyKey is handed to fosite's jwt.ParseWithClaims. It is a go-jose v3 JWK holding the raw
	// public key: fosite turns non-pointer keys into pointers, which go-jose v3 cannot use for
	// Ed25519 (ed25519.PublicKey is a slice), while a *JSONWebKey is unwrapped correctly.
	verifyKey *jose3.JSONWebKey
}

// Set is an immutable snapshot of the signing keys. It is safe for concurrent use; rotate by
// building a new Set and storing it in a [Holder].
type Set struct {
	keys       []Key
	byKID      map[string]*entry // published keys only: next, active, retired
	active     map[string]*entry // alg → the active key
	algs       []string          // algorithms with an active key, sorted
	verifyAlgs []jose4.SignatureAlgorithm
	jwks       jose4.JSONWebKeySet
	jwksJSON   []byte
	jwksETag   string
	verified   *verifyCache // tokens this set has verified (see verifyCache)
}

// NewSet validates keys and builds a set. It requires, and reports together (errors.Join), that:
// every key has a kid (at most 128 printable characters) unique in the set, a valid state, a
// supported alg and a private key that fits it; at most one key per alg is active; and at least one
// key is active. Removed keys are kept only to reserve their kid: a kid must never name two
// different keys, or caches of the JWKS would verify with the wrong one.
func NewSet(keys []Key) (*Set, error) {
	s := &Set{
		verified: &verifyCache{},
		keys:     slices.Clone(keys),
		byKID:    make(map[string]*entry, len(keys)),
		active:   make(map[string]*entry),
	}
	var errs []error
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		if j, dup := seen[k.KID]; dup && k.KID != "" {
			errs = append(errs, fmt.Errorf("keys: key #%d: %w: kid %.130q is already used by key #%d", i, ErrInvalidSet, k.KID, j))
			continue
		}
		seen[k.KID] = i
		if err := checkKey(k); err != nil {
			errs = append(errs, fmt.Errorf("keys: key #%d (kid %.130q): %w", i, k.KID, err))
			continue
		}
		if !k.State.published() {
			continue
		}
		e := &entry{key: k, verifyKey: &jose3.JSONWebKey{Key: k.Public(), KeyID: k.KID, Algorithm: k.Alg, Use: "sig"}}
		s.byKID[k.KID] = e
		if k.State == StateActive {
			if other, dup := s.active[k.Alg]; dup {
				errs = append(errs, fmt.Errorf("keys: key #%d (kid %q): %w: %s already has active key %q; one active key per algorithm", i, k.KID, ErrInvalidSet, k.Alg, other.key.KID))
				continue
			}
			s.active[k.Alg] = e
		}
	}
	if len(errs) == 0 && len(s.active) == 0 {
		errs = append(errs, fmt.Errorf("keys: %w: no active key; at least one key must sign", ErrInvalidSet))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.buildPublic(); err != nil {
		return nil, err
	}
	return s, nil
}

func checkKey(k Key) error {
	if k.KID == "" {
		return fmt.Errorf("%w: empty kid", ErrInvalidSet)
	}
	if len(k.KID) > maxKIDLen {
		return fmt.Errorf("%w: kid longer than %d bytes", ErrInvalidSet, maxKIDLen)
	}
	for _, r := range k.KID {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: kid has a non-printable character", ErrInvalidSet)
		}
	}
	if !k.State.Valid() {
		return fmt.Errorf("%w: state %.20q (use next, active, retired or removed)", ErrInvalidSet, k.State)
	}
	if k.Private == nil {
		return fmt.Errorf("%w: no private key", ErrInvalidSet)
	}
	return checkKeyAlg(k.Private, k.Alg)
}

// stateOrder sorts the JWKS: active keys first, then next, then retired.
var stateOrder = map[State]int{StateActive: 0, StateNext: 1, StateRetired: 2}

func (s *Set) buildPublic() error {
	entries := make([]*entry, 0, len(s.byKID))
	for _, e := range s.byKID {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(stateOrder[a.key.State], stateOrder[b.key.State]), cmp.Compare(a.key.KID, b.key.KID))
	})
	algSeen := map[string]bool{}
	for _, e := range entries {
		s.jwks.Keys = append(s.jwks.Keys, jose4.JSONWebKey{
			Key:       e.key.Public(),
			KeyID:     e.key.KID,
			Algorithm: e.key.Alg,
			Use:       "sig",
		})
		if !algSeen[e.key.Alg] {
			algSeen[e.key.Alg] = true
			s.verifyAlgs = append(s.verifyAlgs, jose4.SignatureAlgorithm(e.key.Alg))
		}
	}
	for alg := range s.active {
		s.algs = append(s.algs, alg)
	}
	slices.Sort(s.algs)
	b, err := json.Marshal(s.jwks)
	if err != nil {
		return fmt.Errorf("keys: marshal JWKS: %w", err)
	}
	s.jwksJSON = b
	sum := sha256.Sum256(b)
	s.jwksETag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return nil
}

// Active returns the key that signs with alg. The error wraps [ErrNoActiveKey].
func (s *Set) Active(alg string) (Key, error) {
	e, ok := s.active[alg]
	if !ok {
		return Key{}, fmt.Errorf("keys: %w %.20q", ErrNoActiveKey, alg)
	}
	return e.key, nil
}

// Verifier returns the key with this kid if tokens it signed may be accepted: next, active or
// retired keys. Removed and unknown kids give false.
//
// Next keys verify on purpose. Only actas holds their private halves, so accepting them gives no
// one a new way in, and it makes rolling rotations safe: while replicas move a key from next to
// active one by one, a replica that still sees it as next must accept what the others already
// sign with it.
func (s *Set) Verifier(kid string) (Key, bool) {
	e, ok := s.byKID[kid]
	if !ok {
		return Key{}, false
	}
	return e.key, true
}

// JWKS returns the public keys of the next, active and retired keys (RFC 7517 §5), each with kid,
// alg and use "sig": active first, then next, then retired, each group by kid.
func (s *Set) JWKS() jose4.JSONWebKeySet {
	return jose4.JSONWebKeySet{Keys: slices.Clone(s.jwks.Keys)}
}

// Algs returns the algorithms that have an active key, sorted, e.g. for discovery's
// id_token_signing_alg_values_supported.
func (s *Set) Algs() []string { return slices.Clone(s.algs) }

// Keys returns every key of the set, removed ones included, in the order given to [NewSet]. The
// result holds private keys: never log it.
func (s *Set) Keys() []Key { return slices.Clone(s.keys) }

// entry returns the published key with this kid.
func (s *Set) entry(kid string) (*entry, bool) {
	e, ok := s.byKID[kid]
	return e, ok
}

// Holder holds the current [Set] for lock-free reads and atomic rotation. The zero value holds no
// set; every user then fails with [ErrNoKeySet] until [Holder.Store] is called.
type Holder struct {
	p atomic.Pointer[Set]
}

// NewHolder returns a Holder with s as its current set.
func NewHolder(s *Set) *Holder {
	h := &Holder{}
	h.Store(s)
	return h
}

// Load returns the current set, or nil when none was stored.
func (h *Holder) Load() *Set { return h.p.Load() }

// Store makes s the current set. Tokens being signed or verified concurrently finish with the set
// they started with.
func (h *Holder) Store(s *Set) { h.p.Store(s) }

func (h *Holder) set() (*Set, error) {
	s := h.p.Load()
	if s == nil {
		return nil, ErrNoKeySet
	}
	return s, nil
}
