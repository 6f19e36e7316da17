package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/actas-dev/actas/storage"
)

// Current returns the browser's login session. It answers (nil, ErrNoSession) when the request has
// no well-formed session cookie or its session is unknown, idle for longer than IdleTimeout or past
// its absolute ExpiresAt; an expired session found in storage is deleted (and the hooks fire).
// A valid session is touched: LastSeenAt moves to now and its storage TTL to the idle timeout (capped
// by ExpiresAt). Storage failures are returned wrapped (errors.Is(err, storage.ErrUnavailable)
// means 503), never as ErrNoSession.
func (s *Service) Current(r *http.Request) (*storage.LoginSession, error) {
	id, ok := cookieID(r, s.cookie)
	if !ok {
		return nil, ErrNoSession
	}
	return s.current(r.Context(), id)
}

func (s *Service) current(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := s.store.GetLoginSession(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrNoSession
	case err != nil:
		return nil, fmt.Errorf("login: get session: %w", err)
	case ls.ID != id:
		return nil, ErrNoSession
	}
	now := s.now()
	if !now.Before(ls.ExpiresAt) || now.Sub(ls.LastSeenAt) >= s.idle {
		if err := s.endSession(ctx, ls); err != nil {
			return nil, err
		}
		return nil, ErrNoSession
	}
	ls.LastSeenAt = now
	err = s.store.TouchLoginSession(ctx, ls, min(s.idle, ls.ExpiresAt.Sub(now)))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrNoSession // ended concurrently
	case err != nil:
		return nil, fmt.Errorf("login: touch session: %w", err)
	}
	return ls, nil
}

// startSession ends the browser's previous session, if any, creates a new one with a fresh random id
// (no session fixation) and sets the cookie.
func (s *Service) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *storage.User, amr []string, acr string) (*storage.LoginSession, error) {
	if err := s.endBrowserSession(ctx, r); err != nil {
		return nil, err
	}
	now := s.now()
	ls := &storage.LoginSession{
		ID:         randomID(),
		Subject:    u.ID,
		AuthTime:   now,
		AMR:        amr,
		ACR:        acr,
		CSRFToken:  randomID(),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.absolute),
	}
	if err := s.store.CreateLoginSession(ctx, ls, s.idle); err != nil {
		return nil, fmt.Errorf("login: create session: %w", err)
	}
	s.setCookie(w, s.cookie, ls.ID, 0)
	s.log.InfoContext(ctx, "login session started", "user_id", u.ID, "amr", amr, "acr", acr)
	s.emit(ctx, r, Event{Type: EventLoginSucceeded, UserID: u.ID, AMR: amr})
	return ls, nil
}

// EndLoginSession ends the browser's login session (RP-initiated logout, OIDC RP-Initiated Logout
// 1.0 §2): deletes it from storage, expires the cookie and calls the OnLoginSessionEnded hooks.
// A request without a session is not an error. The cookie is cleared only when storage agreed, so a
// failed logout (ErrUnavailable) can be retried.
func (s *Service) EndLoginSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.endBrowserSession(ctx, r); err != nil {
		return err
	}
	s.clearCookie(w, s.cookie)
	return nil
}

// endBrowserSession ends the session named by the request's cookie, if it still exists.
func (s *Service) endBrowserSession(ctx context.Context, r *http.Request) error {
	id, ok := cookieID(r, s.cookie)
	if !ok {
		return nil
	}
	ls, err := s.store.GetLoginSession(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("login: get session: %w", err)
	}
	return s.endSession(ctx, ls)
}

// EndAllSessions ends every login session of subject (for example when an administrator disables
// the user or the user signs out everywhere) and calls the hooks for each. It tries every session
// and returns the joined errors.
func (s *Service) EndAllSessions(ctx context.Context, subject string) error {
	list, err := s.store.ListLoginSessions(ctx, subject)
	if err != nil {
		return fmt.Errorf("login: list sessions: %w", err)
	}
	var errs []error
	for _, ls := range list {
		if ls.Subject != subject {
			continue
		}
		errs = append(errs, s.endSession(ctx, ls))
	}
	return errors.Join(errs...)
}

// endSession revokes the session-bound grants of ls, deletes ls and, once storage confirmed, calls
// the hooks. When the grants cannot be revoked the session is kept and the error returned, so that
// the sign-out can be retried rather than leave tokens of a session that looks ended.
func (s *Service) endSession(ctx context.Context, ls *storage.LoginSession) error {
	grants, err := s.store.LoginGrants(ctx, ls.ID)
	if err != nil {
		return fmt.Errorf("login: grants of the session: %w", err)
	}
	revoked := map[string]bool{}
	if err := s.revokeGrants(ctx, grants, revoked); err != nil {
		return err
	}
	err = s.store.DeleteLoginSession(ctx, ls.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: delete session: %w", err)
	}
	// A grant recorded by an authorization that ran while the session was being ended.
	if late, err := s.store.LoginGrants(ctx, ls.ID); err != nil {
		s.log.ErrorContext(ctx, "login: grants recorded while the session ended could not be read", "user_id", ls.Subject, "err", err)
	} else if err := s.revokeGrants(ctx, late, revoked); err != nil {
		s.log.ErrorContext(ctx, "login: grants recorded while the session ended could not be revoked", "user_id", ls.Subject, "err", err)
	}
	s.log.InfoContext(ctx, "login session ended", "user_id", ls.Subject, "grants_revoked", len(revoked))
	s.hookMu.RLock()
	hooks := s.hooks
	s.hookMu.RUnlock()
	for _, h := range hooks {
		h(ctx, ls.Subject, ls.ID)
	}
	return nil
}

// RecordGrant records that g, an authorization response (and so an ID token carrying the
// session's sid, and a grant), is about to be issued under ls: when ls ends, [Service.TakeGrants]
// names it, so that its client can be told by back-channel logout and its tokens revoked unless it
// was granted offline_access. It must succeed before the response is issued; an error wrapping
// storage.ErrUnavailable means the authorization should fail with 503.
func (s *Service) RecordGrant(ctx context.Context, ls *storage.LoginSession, g storage.LoginGrant) error {
	if err := s.store.AddLoginGrant(ctx, ls.ID, g, ls.ExpiresAt); err != nil {
		return fmt.Errorf("login: record grant: %w", err)
	}
	return nil
}

// TakeGrants returns the grants recorded for the login session id and forgets them, for the
// "login session ended" hooks (the session itself is already deleted then). A failure to forget is
// only logged: the record expires with the session's absolute timeout.
func (s *Service) TakeGrants(ctx context.Context, id string) ([]storage.LoginGrant, error) {
	grants, err := s.store.LoginGrants(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("login: grants of the session: %w", err)
	}
	if len(grants) > 0 {
		if err := s.store.DropLoginGrants(ctx, id); err != nil {
			s.log.WarnContext(ctx, "login: could not forget the grants of an ended session", "err", err)
		}
	}
	return grants, nil
}

// revokeGrants revokes every token of each grant in gs that was not granted offline_access and is
// not in done, adding it to done once revoked (OIDC Back-Channel Logout 1.0 §2.7: refresh tokens
// issued without offline_access to a session being logged out should be revoked; its access tokens
// go with them, so introspection answers inactive). A grant with offline_access outlives the login
// session, as it was asked to. It tries every grant and returns the errors joined.
func (s *Service) revokeGrants(ctx context.Context, gs []storage.LoginGrant, done map[string]bool) error {
	var errs []error
	for _, g := range gs {
		if g.Offline || done[g.RequestID] {
			continue
		}
		errA := s.store.RevokeAccessToken(ctx, g.RequestID)
		errR := s.store.RevokeRefreshToken(ctx, g.RequestID)
		if err := errors.Join(ignoreNotFound(errA), ignoreNotFound(errR)); err != nil {
			errs = append(errs, err)
			continue
		}
		done[g.RequestID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("login: revoke the grants of the session: %w", err)
	}
	return nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
