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

// loginClientsKey is the set of the clients that received an authorization response under the
// login session whose id hashes to h (JSON [LoginClient] members): the relying parties told by
// back-channel logout when it ends. Its size is bounded by the number of clients.
func loginClientsKey(h string) string { return "login-clients:{" + h + "}" }

// LoginClient is a client that received an authorization response under a login session, and the
// `sid` of the ID tokens it got there.
type LoginClient struct {
	ClientID string `json:"c"`
	SID      string `json:"s"`
}

// AddLoginClient records c under the login session id, until the session's absolute expiry
// (until; at least a minute when zero or past), and checks that the session still exists: the add
// comes first, in the same round trip where the backend can ([AddingReader]), so a session ended
// concurrently either finds c when its clients are read afterwards or makes this call fail with
// ErrNotFound.
func (s *Store) AddLoginClient(ctx context.Context, id string, c LoginClient, until time.Time) error {
	if id == "" || c.ClientID == "" || c.SID == "" {
		return errors.New("storage: add login client: empty session id, client id or sid")
	}
	ttl := until.Sub(s.opts.Now())
	if until.IsZero() || ttl < time.Minute {
		ttl = time.Minute
	}
	member, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("storage: encode login client: %w", err)
	}
	h := hashKey(id)
	if _, err := AddThenGet(ctx, s.kv, loginClientsKey(h), ttl, string(member), loginKeyOfHash(h)); err != nil {
		return fmt.Errorf("storage: add login client: %w", err)
	}
	return nil
}

// LoginClients returns the clients recorded for the login session id by AddLoginClient (nil when
// none), ordered by client id then sid. It does not require the session itself to exist: the hooks
// of a session that has just been deleted read it. A member that does not decode is an error.
func (s *Store) LoginClients(ctx context.Context, id string) ([]LoginClient, error) {
	members, err := s.kv.SetMembers(ctx, loginClientsKey(hashKey(id)))
	if err != nil {
		return nil, fmt.Errorf("storage: login clients: %w", err)
	}
	var out []LoginClient
	for _, m := range members {
		var c LoginClient
		if err := json.Unmarshal([]byte(m), &c); err != nil || c.ClientID == "" || c.SID == "" {
			return nil, errors.New("storage: login clients: undecodable entry")
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b LoginClient) int {
		return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.SID, b.SID))
	})
	return out, nil
}

// DropLoginClients forgets the clients of the login session id. A missing set is not an error.
func (s *Store) DropLoginClients(ctx context.Context, id string) error {
	if err := s.kv.Delete(ctx, loginClientsKey(hashKey(id))); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: drop login clients: %w", err)
	}
	return nil
}
