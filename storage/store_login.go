package storage

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// loginKey names a login session by the hash of its id: the id is what the cookie carries, a
// bearer secret, and key names end up in error messages.
func loginKey(id string) string { return loginKeyOfHash(hashKey(id)) }

func loginKeyOfHash(h string) string { return "login:{" + h + "}" }

// loginSubjectKey is the set of the (hashed) login session ids of one subject, so that "sign out
// everywhere" and the representer's logout can find every session of a user.
func loginSubjectKey(subject string) string { return "login-sub:{" + subject + "}" }

// loginTTL is the key TTL of a login session: the idle timeout, capped by the absolute expiry.
func (s *Store) loginTTL(ls *LoginSession, idleTTL time.Duration, now time.Time) (time.Duration, error) {
	if idleTTL <= 0 {
		return 0, errors.New("storage: login session: idle timeout must be positive")
	}
	ttl := idleTTL
	if !ls.ExpiresAt.IsZero() {
		ttl = min(ttl, ls.ExpiresAt.Sub(now))
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("storage: login session has expired: %w", ErrNotFound)
	}
	return ttl, nil
}

// CreateLoginSession stores a new login session. Its record lives for idleTTL and each
// [Store.TouchLoginSession] extends it, never beyond ls.ExpiresAt (the absolute timeout, when set).
// CreatedAt is set to now when zero; LastSeenAt to now. An existing id gives ErrConflict.
func (s *Store) CreateLoginSession(ctx context.Context, ls *LoginSession, idleTTL time.Duration) error {
	if ls == nil || ls.ID == "" || ls.Subject == "" {
		return errors.New("storage: create login session: empty id or subject")
	}
	now := s.opts.Now()
	ttl, err := s.loginTTL(ls, idleTTL, now)
	if err != nil {
		return err
	}
	if ls.CreatedAt.IsZero() {
		ls.CreatedAt = now
	}
	ls.LastSeenAt = now
	raw, err := json.Marshal(ls)
	if err != nil {
		return fmt.Errorf("storage: encode login session: %w", err)
	}
	if err := s.kv.SetAdd(ctx, loginSubjectKey(ls.Subject), ttl, hashKey(ls.ID)); err != nil {
		return fmt.Errorf("storage: index login session: %w", err)
	}
	if err := s.kv.Create(ctx, loginKey(ls.ID), raw, ttl); err != nil {
		return fmt.Errorf("storage: create login session: %w", err)
	}
	return nil
}

// GetLoginSession returns the login session with id, or ErrNotFound when it is unknown, idle too
// long or past its absolute expiry.
func (s *Store) GetLoginSession(ctx context.Context, id string) (*LoginSession, error) {
	ls, _, err := s.getLogin(ctx, hashKey(id))
	return ls, err
}

// getLogin reads the login session whose id hashes to h.
func (s *Store) getLogin(ctx context.Context, h string) (*LoginSession, []byte, error) {
	raw, err := s.kv.Get(ctx, loginKeyOfHash(h))
	if err != nil {
		return nil, nil, fmt.Errorf("storage: get login session: %w", err)
	}
	var ls LoginSession
	if err := json.Unmarshal(raw, &ls); err != nil {
		return nil, nil, fmt.Errorf("storage: decode login session: %w", err)
	}
	if !ls.ExpiresAt.IsZero() && !s.opts.Now().Before(ls.ExpiresAt) {
		return nil, nil, fmt.Errorf("storage: get login session: expired: %w", ErrNotFound)
	}
	return &ls, raw, nil
}

// TouchLoginSession records activity: it writes ls with LastSeenAt = now and extends the idle
// timeout, capped by the absolute expiry. It never resurrects a session that was deleted or has
// expired meanwhile (ErrNotFound), and refuses to change the session's subject.
func (s *Store) TouchLoginSession(ctx context.Context, ls *LoginSession, idleTTL time.Duration) error {
	if ls == nil || ls.ID == "" {
		return errors.New("storage: touch login session: empty id")
	}
	return s.casLoop(ctx, "touch login session", func() error {
		cur, raw, err := s.getLogin(ctx, hashKey(ls.ID))
		if err != nil {
			return err
		}
		if cur.Subject != ls.Subject {
			return errors.New("storage: touch login session: subject differs from the stored session")
		}
		now := s.opts.Now()
		ttl, err := s.loginTTL(ls, idleTTL, now)
		if err != nil {
			return err
		}
		ls.LastSeenAt = now
		next, err := json.Marshal(ls)
		if err != nil {
			return fmt.Errorf("storage: encode login session: %w", err)
		}
		if err := s.kv.SetAdd(ctx, loginSubjectKey(ls.Subject), ttl, hashKey(ls.ID)); err != nil {
			return fmt.Errorf("storage: index login session: %w", err)
		}
		err = s.kv.CompareAndSwap(ctx, loginKey(ls.ID), raw, next, ttl)
		if err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("storage: touch login session: %w", err)
		}
		return retryOnConflict(err)
	})
}

// DeleteLoginSession ends a login session. A missing one is not an error.
func (s *Store) DeleteLoginSession(ctx context.Context, id string) error {
	raw, err := s.kv.Get(ctx, loginKey(id))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: delete login session: %w", err)
	}
	var ls LoginSession
	if err := json.Unmarshal(raw, &ls); err != nil {
		return fmt.Errorf("storage: decode login session: %w", err)
	}
	if err := s.kv.Delete(ctx, loginKey(id)); err != nil {
		return fmt.Errorf("storage: delete login session: %w", err)
	}
	if err := s.kv.SetRemove(ctx, loginSubjectKey(ls.Subject), hashKey(id)); err != nil {
		return fmt.Errorf("storage: unindex login session: %w", err)
	}
	return nil
}

// ListLoginSessions returns the live login sessions of subject, oldest first. Index entries of
// sessions that have ended are pruned on the way.
func (s *Store) ListLoginSessions(ctx context.Context, subject string) ([]*LoginSession, error) {
	hashes, err := s.kv.SetMembers(ctx, loginSubjectKey(subject))
	if err != nil {
		return nil, fmt.Errorf("storage: list login sessions: %w", err)
	}
	var out []*LoginSession
	var stale []string
	for _, h := range hashes {
		ls, _, err := s.getLogin(ctx, h)
		if errors.Is(err, ErrNotFound) {
			stale = append(stale, h)
			continue
		}
		if err != nil {
			return nil, err
		}
		if ls.Subject != subject {
			stale = append(stale, h)
			continue
		}
		out = append(out, ls)
	}
	if len(stale) > 0 {
		if err := s.kv.SetRemove(ctx, loginSubjectKey(subject), stale...); err != nil {
			return nil, fmt.Errorf("storage: prune login sessions: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b *LoginSession) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// loginGrantsKey is the set of the grants issued under the login session whose id hashes to h
// (JSON [LoginGrant] members): the relying parties told by back-channel logout when it ends, and
// the grants it revokes then.
func loginGrantsKey(h string) string { return "login-grants:{" + h + "}" }

// LoginGrant is an authorization response issued under a login session: the client it went to,
// the request id of the grant it starts (the id of every token issued from its code, refreshes
// included), and whether offline_access was granted (such a grant outlives the login session).
type LoginGrant struct {
	ClientID  string `json:"c"`
	RequestID string `json:"g"`
	Offline   bool   `json:"o,omitempty"`
}

// AddLoginGrant records g under the login session id, until the session's absolute expiry
// (until; at least a minute when zero or past).
func (s *Store) AddLoginGrant(ctx context.Context, id string, g LoginGrant, until time.Time) error {
	if id == "" || g.ClientID == "" || g.RequestID == "" {
		return errors.New("storage: add login grant: empty session, client or request id")
	}
	ttl := until.Sub(s.opts.Now())
	if until.IsZero() || ttl < time.Minute {
		ttl = time.Minute
	}
	member, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("storage: encode login grant: %w", err)
	}
	if err := s.kv.SetAdd(ctx, loginGrantsKey(hashKey(id)), ttl, string(member)); err != nil {
		return fmt.Errorf("storage: add login grant: %w", err)
	}
	return nil
}

// LoginGrants returns the grants recorded for the login session id by AddLoginGrant (nil when
// none), ordered by client then request id. It does not require the session itself to exist: the
// hooks of a session that has just been deleted read it. A member that does not decode is an error
// (a grant that could not be revoked must not pass unnoticed).
func (s *Store) LoginGrants(ctx context.Context, id string) ([]LoginGrant, error) {
	members, err := s.kv.SetMembers(ctx, loginGrantsKey(hashKey(id)))
	if err != nil {
		return nil, fmt.Errorf("storage: login grants: %w", err)
	}
	var out []LoginGrant
	for _, m := range members {
		var g LoginGrant
		if err := json.Unmarshal([]byte(m), &g); err != nil || g.ClientID == "" || g.RequestID == "" {
			return nil, fmt.Errorf("storage: login grants: undecodable entry")
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b LoginGrant) int {
		return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.RequestID, b.RequestID))
	})
	return out, nil
}

// DropLoginGrants forgets the grants of the login session id. A missing set is not an error.
func (s *Store) DropLoginGrants(ctx context.Context, id string) error {
	if err := s.kv.Delete(ctx, loginGrantsKey(hashKey(id))); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: drop login grants: %w", err)
	}
	return nil
}
