package login

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

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
	ls, err := s.storedSession(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case ls == nil:
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

// startSession creates a new login session with a fresh random id (no session fixation) and sets
// the cookie. The browser's previous session, if any, is ended (hooks and all) when it belongs to
// another user; when the same user signs in again (a step-up, prompt=login, max_age) it is renewed
// instead: the new session keeps its sid and its clients, and nothing is announced as ended. A
// renewal is claimed once (a record naming the new session, kept renewalGrace): a second sign-in
// sent with the same old cookie (a double submit, two tabs) joins the session the first one made
// rather than starting one that would not know the old session's clients.
func (s *Service) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *storage.User, amr []string, acr string) (*storage.LoginSession, error) {
	prev, err := s.browserSession(ctx, r)
	if err != nil {
		return nil, err
	}
	if prev == nil { // perhaps renewed a moment ago by the same sign-in sent twice
		ls, err := s.renewedSession(ctx, r, u.ID)
		if err != nil {
			return nil, err
		}
		if ls != nil {
			return s.joinRenewal(ctx, w, r, ls, amr)
		}
	}
	now := s.now()
	renew := prev != nil && prev.Subject == u.ID && now.Before(prev.ExpiresAt)
	if prev != nil && !renew {
		if err := s.endSession(ctx, prev); err != nil {
			return nil, err
		}
	}
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
	if renew {
		ls.SID = SIDOf(prev)
	}
	if err := s.store.CreateLoginSession(ctx, ls, s.idle); err != nil {
		return nil, fmt.Errorf("login: create session: %w", err)
	}
	if renew {
		won, err := s.claimRenewal(ctx, prev, ls)
		if err == nil && won {
			err = s.renew(ctx, prev, ls)
		}
		if err != nil || !won {
			if derr := s.store.DeleteLoginSession(ctx, ls.ID); derr != nil {
				s.log.WarnContext(ctx, "login: could not remove the session of a failed sign-in", "err", derr)
			}
		}
		if err != nil {
			return nil, err
		}
		if !won {
			winner, err := s.renewedSession(ctx, r, u.ID)
			if err != nil || winner == nil {
				return nil, fmt.Errorf("login: renew session: concurrent sign-in: %w", cmp.Or(err, storage.ErrConflict))
			}
			return s.joinRenewal(ctx, w, r, winner, amr)
		}
	}
	return s.signedIn(ctx, w, r, ls, amr, "renewed", renew), nil
}

// kindRenewal records, for a renewed session (by a hash of its id), the id of the session that
// replaced it.
const kindRenewal = "login_renewal"

// renewalGrace is how long a renewal is remembered: long enough for a second submission of the
// same sign-in to arrive.
const renewalGrace = 2 * time.Minute

type renewal struct {
	Next    string `json:"next"`
	Subject string `json:"sub"`
}

// claimRenewal records that next replaces prev; false when another sign-in claimed prev first.
func (s *Service) claimRenewal(ctx context.Context, prev, next *storage.LoginSession) (bool, error) {
	err := s.store.CreateRecord(ctx, kindRenewal, hashID("renewal", prev.ID), renewal{Next: next.ID, Subject: prev.Subject}, renewalGrace)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("login: renew session: %w", err)
	}
	return true, nil
}

// renewedSession returns the session that replaced the one named by the request's cookie, when it
// was renewed within renewalGrace for subject and still exists; else nil.
func (s *Service) renewedSession(ctx context.Context, r *http.Request, subject string) (*storage.LoginSession, error) {
	id, ok := cookieID(r, s.cookie)
	if !ok {
		return nil, nil
	}
	var rn renewal
	err := s.store.GetRecord(ctx, kindRenewal, hashID("renewal", id), &rn)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("login: renewal: %w", err)
	case rn.Subject != subject:
		return nil, nil
	}
	ls, err := s.storedSession(ctx, rn.Next)
	if err != nil || ls == nil || ls.Subject != subject {
		return nil, err
	}
	return ls, nil
}

// joinRenewal makes the browser use ls, the session a concurrent sign-in of the same user made when
// it renewed the session this request's cookie named.
func (s *Service) joinRenewal(ctx context.Context, w http.ResponseWriter, r *http.Request, ls *storage.LoginSession, amr []string) (*storage.LoginSession, error) {
	return s.signedIn(ctx, w, r, ls, amr, "renewed", true, "joined", true), nil
}

// signedIn hands ls to the browser (its cookie), logs the sign-in with its extra attributes and
// emits the login event.
func (s *Service) signedIn(ctx context.Context, w http.ResponseWriter, r *http.Request, ls *storage.LoginSession, amr []string, extra ...any) *storage.LoginSession {
	s.setCookie(w, s.cookie, ls.ID, 0)
	s.log.InfoContext(ctx, "login session started", append([]any{"user_id", ls.Subject, "amr", amr, "acr", ls.ACR}, extra...)...)
	s.emit(ctx, r, Event{Type: EventLoginSucceeded, UserID: ls.Subject, AMR: amr})
	return ls
}

// renew replaces prev by next (same user, same browser): prev is deleted first, so that no
// authorization can record a client under it any more, then its clients are carried over to next.
// If they cannot be, prev is ended as any other session (its hooks run, so its clients are told by
// back-channel logout rather than forgotten) and the error is returned.
func (s *Service) renew(ctx context.Context, prev, next *storage.LoginSession) error {
	if err := s.store.DeleteLoginSession(ctx, prev.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: renew session: %w", err)
	}
	err := s.carryClients(ctx, prev, next)
	if err == nil {
		return nil
	}
	s.log.ErrorContext(ctx, "login: the clients of a renewed session could not be carried over; it is ended instead", "user_id", prev.Subject, "err", err)
	s.ended(ctx, prev)
	return fmt.Errorf("login: renew session: %w", err)
}

// carryClients moves the clients recorded under prev to next.
func (s *Service) carryClients(ctx context.Context, prev, next *storage.LoginSession) error {
	clients, err := s.store.LoginClients(ctx, prev.ID)
	if err != nil {
		return err
	}
	for _, c := range clients {
		if err := s.store.AddLoginClient(ctx, next.ID, c, next.ExpiresAt); err != nil {
			return err
		}
	}
	if len(clients) > 0 {
		if err := s.store.DropLoginClients(ctx, prev.ID); err != nil {
			s.log.WarnContext(ctx, "login: could not forget the clients of a renewed session", "err", err)
		}
	}
	return nil
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
	ls, err := s.browserSession(ctx, r)
	if err != nil || ls == nil {
		return err
	}
	return s.endSession(ctx, ls)
}

// browserSession returns the session named by the request's cookie, or nil when there is none or
// it no longer exists.
func (s *Service) browserSession(ctx context.Context, r *http.Request) (*storage.LoginSession, error) {
	id, ok := cookieID(r, s.cookie)
	if !ok {
		return nil, nil
	}
	return s.storedSession(ctx, id)
}

// storedSession returns the login session id, or nil when it does not exist (any more).
func (s *Service) storedSession(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := s.store.GetLoginSession(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("login: get session: %w", err)
	case ls.ID != id:
		return nil, nil
	}
	return ls, nil
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

// endSession deletes ls and, once storage confirmed, calls the hooks.
func (s *Service) endSession(ctx context.Context, ls *storage.LoginSession) error {
	err := s.store.DeleteLoginSession(ctx, ls.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: delete session: %w", err)
	}
	s.ended(ctx, ls)
	return nil
}

// ended logs the end of ls and calls the hooks.
func (s *Service) ended(ctx context.Context, ls *storage.LoginSession) {
	s.log.InfoContext(ctx, "login session ended", "user_id", ls.Subject)
	s.hookMu.RLock()
	hooks := s.hooks
	s.hookMu.RUnlock()
	for _, h := range hooks {
		h(ctx, ls.Subject, ls.ID)
	}
}

// SID is the `sid` published for the login session id (in ID tokens, and in the back-channel
// logout of the session): a hash, never the cookie value itself.
func SID(loginSessionID string) string {
	h := sha256.Sum256([]byte("actas sid v1:" + loginSessionID))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// SIDOf is the `sid` of ls: the one it inherited when its user signed in again in the same
// browser (a renewal keeps it, so that relying parties holding ID tokens of the earlier session
// still match the back-channel logout), else SID(ls.ID).
func SIDOf(ls *storage.LoginSession) string {
	if ls.SID != "" {
		return ls.SID
	}
	return SID(ls.ID)
}

// RecordClient records that clientID is about to receive an authorization response (and so an ID
// token carrying the session's sid) under ls, so that the end of ls tells it by back-channel
// logout ([Service.TakeClients]). It must succeed before the response is issued: ErrNoSession
// (wrapped) when ls has ended meanwhile, an error wrapping storage.ErrUnavailable when storage
// failed (503).
func (s *Service) RecordClient(ctx context.Context, ls *storage.LoginSession, clientID string) error {
	err := s.store.AddLoginClient(ctx, ls.ID, storage.LoginClient{ClientID: clientID, SID: SIDOf(ls)}, ls.ExpiresAt)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("login: record client: the session has ended: %w", ErrNoSession)
	case err != nil:
		return fmt.Errorf("login: record client: %w", err)
	}
	return nil
}

// TakeClients returns the clients recorded for the login session id and forgets them, for the
// "login session ended" hooks (the session itself is already deleted then). A failure to forget is
// only logged: the record expires with the session's absolute timeout.
func (s *Service) TakeClients(ctx context.Context, id string) ([]storage.LoginClient, error) {
	clients, err := s.store.LoginClients(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("login: clients of the session: %w", err)
	}
	if len(clients) > 0 {
		if err := s.store.DropLoginClients(ctx, id); err != nil {
			s.log.WarnContext(ctx, "login: could not forget the clients of an ended session", "err", err)
		}
	}
	return clients, nil
}
