package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// Token kinds: the middle part of a tok: key.
const (
	kindCode    = "code"
	kindAccess  = "access"
	kindRefresh = "refresh"
	kindPKCE    = "pkce"
	kindOIDC    = "oidc"
)

// tokenKey is the key of a token record: "tok:<kind>:{<sha256 hex of the signature>}".
func tokenKey(kind, signature string) string {
	return "tok:" + kind + ":{" + hashKey(signature) + "}"
}

// grantKey is the set of token keys issued under one fosite request id.
func grantKey(requestID string) string { return "grant:{" + requestID + "}" }

// createToken stores req under (kind, signature) with a TTL derived from the session's expiry for
// tt. When indexed, the key is first added to the grant's set so that the grant can always be
// revoked as a whole, even if the second write fails.
func (s *Store) createToken(ctx context.Context, kind, signature string, req fosite.Requester, tt fosite.TokenType, indexed bool, accessKey string) error {
	var exp time.Time
	if req != nil && req.GetSession() != nil {
		exp = req.GetSession().GetExpiresAt(tt)
	}
	ttl := s.ttlUntil(exp)
	sr, err := encodeRequest(req, s.opts.Now().Add(ttl))
	if err != nil {
		return err
	}
	sr.AccessKey = accessKey
	raw, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("storage: encode %s token: %w", kind, err)
	}
	key := tokenKey(kind, signature)
	if ic, ok := s.kv.(IndexedCreator); ok && indexed {
		// One round trip where the backend can (the index entry is written first or atomically).
		if err := ic.CreateIndexed(ctx, grantKey(sr.ID), ttl, key, key, raw, ttl); err != nil {
			return fmt.Errorf("storage: create %s token: %w", kind, err)
		}
		return nil
	}
	if indexed {
		if err := s.kv.SetAdd(ctx, grantKey(sr.ID), ttl, key); err != nil {
			return fmt.Errorf("storage: index %s token: %w", kind, err)
		}
	}
	if err := s.kv.Create(ctx, key, raw, ttl); err != nil {
		return fmt.Errorf("storage: create %s token: %w", kind, err)
	}
	return nil
}

// getToken loads the record of (kind, signature) and rebuilds the request with session as the
// prototype. It does not interpret the active flag.
func (s *Store) getToken(ctx context.Context, kind, signature string, session fosite.Session) (*fosite.Request, *storedRequest, error) {
	key := tokenKey(kind, signature)
	raw, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: get %s token: %w", kind, err)
	}
	cache := kind == kindAccess
	if cache {
		if req, sr, ok := s.fromDecoded(ctx, key, raw, session); ok {
			return req, sr, nil
		}
	}
	sr, err := decodeStored(raw)
	if err != nil {
		return nil, nil, err
	}
	req, err := s.toRequest(ctx, sr, session)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := req.Session.(sessionCopier); ok && cache && !sr.Exp.IsZero() {
		// Decode once more into a session of our own: req's is the caller's to change.
		own := req.Session.Clone()
		s.decoded.store(key, decodedEntry{raw: raw, sr: copyStored(sr), session: own, until: sr.Exp})
	}
	return req, sr, nil
}

// Only access tokens use the decoding cache. Decoding into fosite's prototype session merges
// with what the prototype already holds, and fosite relies on that when it reads a code again
// with the session it has since given an access-token expiry; a cached copy replaces the session
// instead. Access tokens are read with fresh sessions (introspection, userinfo, the exchange,
// bearer authentication) and are the records read over and over.
//
// fromDecoded rebuilds the request of the record raw at key from the decoding cache, when the
// cache holds exactly these bytes and session (or, when nil, a new session) can copy the cached
// one.
func (s *Store) fromDecoded(ctx context.Context, key string, raw []byte, session fosite.Session) (*fosite.Request, *storedRequest, bool) {
	e, ok := fresh(&s.decoded, key, raw, s.opts.Now())
	if !ok {
		return nil, nil, false
	}
	if session == nil {
		session = s.opts.NewSession()
	}
	sc, ok := session.(sessionCopier)
	if !ok || !sc.CopyFrom(e.session) {
		return nil, nil, false
	}
	sr := copyStored(e.sr)
	req, err := s.toRequest(ctx, sr, session)
	if err != nil {
		return nil, nil, false
	}
	return req, sr, true
}

// getActiveToken is getToken that returns the request together with inactive (wrapped) when the
// record is no longer active, as fosite expects.
func (s *Store) getActiveToken(ctx context.Context, kind, signature string, session fosite.Session, inactive error) (fosite.Requester, error) {
	req, sr, err := s.getToken(ctx, kind, signature, session)
	if err != nil {
		return nil, err
	}
	if !sr.Active {
		return req, fmt.Errorf("storage: %s token: %w", kind, inactive)
	}
	return req, nil
}

func (s *Store) deleteToken(ctx context.Context, kind, signature string) error {
	if err := s.kv.Delete(ctx, tokenKey(kind, signature)); err != nil {
		return fmt.Errorf("storage: delete %s token: %w", kind, err)
	}
	return nil
}

// deactivate flips the record at key from active to inactive with a compare-and-swap, keeping its
// expiry. It reports whether the record was already inactive, so that of several concurrent
// callers exactly one sees wasInactive == false.
func (s *Store) deactivate(ctx context.Context, key string) (wasInactive bool, err error) {
	err = s.casLoop(ctx, "deactivate token", func() error {
		raw, err := s.kv.Get(ctx, key)
		if err != nil {
			return err
		}
		sr, err := decodeStored(raw)
		if err != nil {
			return err
		}
		if !sr.Active {
			wasInactive = true
			return nil
		}
		sr.Active = false
		next, err := json.Marshal(sr)
		if err != nil {
			return fmt.Errorf("storage: encode token: %w", err)
		}
		ttl := s.opts.DefaultTTL
		if !sr.Exp.IsZero() {
			ttl = max(sr.Exp.Sub(s.opts.Now()), time.Millisecond)
		}
		return retryOnConflict(s.kv.CompareAndSwap(ctx, key, raw, next, ttl))
	})
	return wasInactive, err
}

// revokeGrant deactivates every token of the given kind recorded under requestID. It tries every
// token even when one fails, and is idempotent, so a retry completes a partial revocation.
func (s *Store) revokeGrant(ctx context.Context, requestID, kind string) error {
	members, err := s.kv.SetMembers(ctx, grantKey(requestID))
	if err != nil {
		return fmt.Errorf("storage: revoke %s tokens of grant: %w", kind, err)
	}
	prefix := "tok:" + kind + ":"
	var (
		errs []error
		done []string
	)
	for _, key := range members {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		if _, err := s.deactivate(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		done = append(done, key)
	}
	// An inactive or vanished token never needs revoking again: drop it from the index so that a
	// grant refreshed many times does not make every later refresh slower. Reuse detection looks
	// tokens up by signature, not through the index.
	if len(done) > 0 {
		if err := s.kv.SetRemove(ctx, grantKey(requestID), done...); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: revoke %s tokens of grant: %w", kind, err)
	}
	return nil
}

// CreateAuthorizeCodeSession stores the authorization request under the code's signature until the
// code expires (plus the margin).
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createToken(ctx, kindCode, signature, req, fosite.AuthorizeCode, false, "")
}

// GetAuthorizeCodeSession returns the authorization request of a code, its session decoded into
// session. For a code already used it returns the request together with an error wrapping
// fosite.ErrInvalidatedAuthorizeCode, so that fosite revokes what the first use issued (RFC 6749
// §4.1.2).
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getActiveToken(ctx, kindCode, signature, session, fosite.ErrInvalidatedAuthorizeCode)
}

// InvalidateAuthorizeCodeSession marks a code used, atomically: of concurrent redemptions exactly
// one succeeds; the others get an error wrapping fosite.ErrInvalidatedAuthorizeCode. The used
// code is kept until it expires so that a replay is recognised.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	wasInactive, err := s.deactivate(ctx, tokenKey(kindCode, signature))
	if err != nil {
		return fmt.Errorf("storage: invalidate code: %w", err)
	}
	if wasInactive {
		return fmt.Errorf("storage: invalidate code: %w", fosite.ErrInvalidatedAuthorizeCode)
	}
	return nil
}

// CreateAccessTokenSession stores an access token's request and records it under its grant.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createToken(ctx, kindAccess, signature, req, fosite.AccessToken, true, "")
}

// GetAccessTokenSession returns the request of an access token. A revoked token yields the request
// and an error wrapping fosite.ErrInactiveToken (introspection then answers inactive); an unknown
// or expired one fosite.ErrNotFound.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getActiveToken(ctx, kindAccess, signature, session, fosite.ErrInactiveToken)
}

// DeleteAccessTokenSession removes an access token record; a missing one is not an error.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.deleteToken(ctx, kindAccess, signature)
}

// CreateRefreshTokenSession stores a refresh token's request and records it under its grant.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	accessKey := ""
	if accessSignature != "" {
		accessKey = tokenKey(kindAccess, accessSignature)
	}
	return s.createToken(ctx, kindRefresh, signature, req, fosite.RefreshToken, true, accessKey)
}

// GetRefreshTokenSession returns the request of a refresh token. A used (rotated) or revoked token
// yields the request and an error wrapping fosite.ErrInactiveToken: fosite treats that as reuse and
// revokes the whole grant (RFC 9700 §4.14.2).
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getActiveToken(ctx, kindRefresh, signature, session, fosite.ErrInactiveToken)
}

// DeleteRefreshTokenSession removes a refresh token record; a missing one is not an error.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.deleteToken(ctx, kindRefresh, signature)
}

// RotateRefreshToken retires the refresh token being redeemed, atomically: of parallel rotations
// of one token exactly one succeeds, the others get an error wrapping fosite.ErrInactiveToken.
// The winner then deactivates the grant's other refresh tokens and its access tokens (the previous
// access token goes inactive after a refresh); the retired token stays, inactive, until it expires
// so that its reuse is detected.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	wasInactive, err := s.deactivate(ctx, tokenKey(kindRefresh, signature))
	if err != nil {
		return fmt.Errorf("storage: rotate refresh token: %w", err)
	}
	if wasInactive {
		return fmt.Errorf("storage: rotate refresh token: already rotated or revoked: %w", fosite.ErrInactiveToken)
	}
	if err := s.RevokeRefreshToken(ctx, requestID); err != nil {
		return err
	}
	return s.RevokeAccessToken(ctx, requestID)
}

// RevokeRefreshToken deactivates every refresh token of the grant requestID (RFC 7009 §2.1).
// Tokens stay, inactive, until they expire. An unknown grant is not an error.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID, kindRefresh)
}

// RevokeAccessToken deactivates every access token of the grant requestID (RFC 7009 §2.1).
// An unknown grant is not an error.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID, kindAccess)
}

// CreatePKCERequestSession stores the PKCE challenge (in the request form) under the code's
// signature (RFC 7636 §4.4).
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createToken(ctx, kindPKCE, signature, req, fosite.AuthorizeCode, false, "")
}

// GetPKCERequestSession returns the stored PKCE request, or fosite.ErrNotFound.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.getToken(ctx, kindPKCE, signature, session)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// DeletePKCERequestSession removes the PKCE request; a missing one is not an error.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.deleteToken(ctx, kindPKCE, signature)
}

// CreateOpenIDConnectSession stores the OpenID Connect request of an authorization code. fosite
// passes the code itself here, not its signature: it is hashed like every token key.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, authorizeCode string, req fosite.Requester) error {
	return s.createToken(ctx, kindOIDC, authorizeCode, req, fosite.AuthorizeCode, false, "")
}

// GetOpenIDConnectSession returns the OpenID Connect request of a code, its session decoded into
// the session of req, or fosite.ErrNotFound (openid.ErrNoSessionFound).
func (s *Store) GetOpenIDConnectSession(ctx context.Context, authorizeCode string, req fosite.Requester) (fosite.Requester, error) {
	var session fosite.Session
	if req != nil {
		session = req.GetSession()
	}
	out, _, err := s.getToken(ctx, kindOIDC, authorizeCode, session)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteOpenIDConnectSession removes the OpenID Connect request; a missing one is not an error.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, authorizeCode string) error {
	return s.deleteToken(ctx, kindOIDC, authorizeCode)
}
