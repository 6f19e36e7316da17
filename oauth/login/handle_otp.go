package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/actas-dev/actas/storage"
)

// kindPending holds a sign-in whose password was right and whose TOTP code is still due, keyed by
// the random id in the pending-login cookie. It lives pendingTTL.
const kindPending = "login_pending"

// maxCodeAttempts wrong codes end a pending sign-in (the rate limits apply as well).
const maxCodeAttempts = 5

type pendingLogin struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	ReturnTo string `json:"return_to"`
	// CSRF is the second-factor form's token: bound to this record, not to a cookie alone.
	CSRF      string    `json:"csrf"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
}

var errPendingGone = errors.New("login: pending sign-in expired")

// startPending records a correct password awaiting its second factor and sets the cookie.
func (s *Service) startPending(ctx context.Context, w http.ResponseWriter, u *storage.User, returnTo string) error {
	id := randomID()
	p := pendingLogin{
		UserID: u.ID, Username: u.Username, ReturnTo: returnTo, CSRF: randomID(),
		CreatedAt: s.now(),
	}
	if err := s.store.CreateRecord(ctx, kindPending, id, p, pendingTTL); err != nil {
		return fmt.Errorf("login: create pending sign-in: %w", err)
	}
	s.setCookie(w, s.pendingCookieName(), id, int(pendingTTL.Seconds()))
	return nil
}

// loadPending returns the request's pending sign-in; errPendingGone when there is none.
func (s *Service) loadPending(ctx context.Context, r *http.Request) (string, *pendingLogin, error) {
	id, ok := cookieID(r, s.pendingCookieName())
	if !ok {
		return "", nil, errPendingGone
	}
	var p pendingLogin
	err := s.store.GetRecord(ctx, kindPending, id, &p)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "", nil, errPendingGone
	case err != nil:
		return "", nil, fmt.Errorf("login: get pending sign-in: %w", err)
	}
	return id, &p, nil
}

// handleOTPPage serves GET /login/otp.
func (s *Service) handleOTPPage(w http.ResponseWriter, r *http.Request) {
	_, p, err := s.loadPending(r.Context(), r)
	if err != nil {
		s.pendingFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "otp", page{Title: "Verification code", CSRF: p.CSRF})
}

// handleOTPSubmit serves POST /login/otp (behind CrossOriginProtection).
func (s *Service) handleOTPSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !s.parseForm(w, r) {
		return
	}
	id, p, err := s.loadPending(ctx, r)
	if err != nil {
		s.pendingFailed(w, r, err)
		return
	}
	if !equalToken(r.PostForm.Get("csrf"), p.CSRF) {
		s.badForm(w, r)
		return
	}
	form := page{Title: "Verification code", CSRF: p.CSRF}
	keys := s.limitKeys(r, p.Username)
	wait, err := s.reserve(ctx, keys)
	if err != nil {
		s.fail(w, r, "rate limit", err)
		return
	}
	if wait > 0 {
		s.tooMany(w, r, retryAfterSeconds(wait), form, "otp")
		return
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil || u.Disabled || u.TOTPSecret == "" {
		s.release(ctx, keys) // no code was checked
	}
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Disabled || u.TOTPSecret == "")):
		s.dropPending(ctx, w, id)
		s.pendingFailed(w, r, errPendingGone)
		return
	case err != nil:
		s.fail(w, r, "get user", err)
		return
	}

	err = s.verifyTOTP(ctx, u.ID, u.TOTPSecret, r.PostForm.Get("code"))
	switch {
	case errors.Is(err, errTOTPInvalid) || errors.Is(err, errTOTPReplayed):
		s.log.InfoContext(ctx, "login: second factor refused", "user_id", u.ID,
			"replayed", errors.Is(err, errTOTPReplayed), "client_ip", s.clientIP(r))
		why := "code_invalid"
		if errors.Is(err, errTOTPReplayed) {
			why = "code_replayed"
		}
		s.emit(ctx, r, Event{Type: EventSecondFactorFailed, UserID: u.ID, Reason: why}) // the reserved attempt stays counted
		left, cerr := s.countCodeAttempt(ctx, id, p)
		switch {
		case errors.Is(cerr, errPendingGone) || (cerr == nil && left <= 0):
			s.dropPending(ctx, w, id)
			s.message(w, r, http.StatusBadRequest, "Sign-in stopped",
				"Too many wrong codes. Go back to the application and sign in again.")
			return
		case cerr != nil:
			s.fail(w, r, "count code attempt", cerr)
			return
		}
		form.Error = "That code is not valid. Enter the current code from your authenticator app."
		if errors.Is(err, errTOTPReplayed) {
			form.Error = "That code was already used. Wait for the next code and enter it."
		}
		s.render(w, r, http.StatusOK, "otp", form)
		return
	case err != nil:
		s.release(ctx, keys)
		s.fail(w, r, "verify code", err)
		return
	}
	s.release(ctx, keys)

	if _, err := s.startSession(ctx, w, r, u, []string{AMRPassword, AMROTP, AMRMFA}, ACRMFA); err != nil {
		s.fail(w, r, "start session", err)
		return
	}
	s.dropPending(ctx, w, id)
	s.redirect(w, p.ReturnTo)
}

// countCodeAttempt adds a wrong code to the pending sign-in and returns how many remain.
func (s *Service) countCodeAttempt(ctx context.Context, id string, p *pendingLogin) (int, error) {
	ttl := max(pendingTTL-s.now().Sub(p.CreatedAt), time.Second)
	var left int
	err := s.store.UpdateRecord(ctx, kindPending, id, ttl, func(cur []byte) ([]byte, error) {
		if cur == nil {
			return nil, errPendingGone
		}
		var c pendingLogin
		if err := json.Unmarshal(cur, &c); err != nil {
			return nil, fmt.Errorf("login: decode pending sign-in: %w", err)
		}
		c.Attempts++
		left = maxCodeAttempts - c.Attempts
		return json.Marshal(c)
	})
	return left, err
}

// dropPending deletes the pending sign-in and its cookie. A failed delete only leaves a record that
// expires within pendingTTL and whose cookie is gone.
func (s *Service) dropPending(ctx context.Context, w http.ResponseWriter, id string) {
	if err := s.store.DeleteRecord(ctx, kindPending, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.WarnContext(ctx, "login: delete pending sign-in", "err", err)
	}
	s.clearCookie(w, s.pendingCookieName())
}

func (s *Service) pendingFailed(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errPendingGone) {
		s.fail(w, r, "pending sign-in", err)
		return
	}
	s.message(w, r, http.StatusBadRequest, "Sign-in expired",
		"This sign-in attempt has expired. Go back to the application and sign in again.")
}
