package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/actas-dev/actas/storage"
)

const (
	maxFormBytes   = 64 << 10
	maxUsernameLen = 256
	// csrfCookieAge bounds how long a login form may stay open.
	csrfCookieAge = 2 * 60 * 60
)

// errBadCredentials is the one outcome shown for an unknown user, a wrong password and a disabled
// user alike.
var errBadCredentials = errors.New("login: bad credentials")

const genericLoginError = "Invalid username or password."

// handleLoginPage serves GET /login.
func (s *Service) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo, err := ValidateReturnTo(q.Get("return_to"))
	if err != nil {
		s.invalidReturnTo(w, r, err)
		return
	}
	if !hasPromptValue(q.Get("prompt"), "login") {
		_, err := s.Current(r)
		switch {
		case err == nil:
			s.redirect(w, returnTo)
			return
		case !errors.Is(err, ErrNoSession):
			s.fail(w, r, "current session", err)
			return
		}
	}
	hint := q.Get("login_hint")
	if len(hint) > maxUsernameLen {
		hint = ""
	}
	s.render(w, r, http.StatusOK, "login", page{
		Title: "Sign in", ReturnTo: returnTo, CSRF: s.loginCSRF(w, r), Username: hint,
	})
}

// loginCSRF returns the double-submit token of the login form: the CSRF cookie's value, set now if
// missing. There is no session yet to bind a token to; the cookie is HttpOnly, SameSite=Lax and (in
// production) __Host-, so another site can neither read nor plant it.
func (s *Service) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if v, ok := cookieID(r, s.csrfCookieName()); ok {
		return v
	}
	v := randomID()
	s.setCookie(w, s.csrfCookieName(), v, csrfCookieAge)
	return v
}

// handleLoginSubmit serves POST /login (behind CrossOriginProtection).
func (s *Service) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !s.parseForm(w, r) {
		return
	}
	cookie, ok := cookieID(r, s.csrfCookieName())
	if !ok || !equalToken(r.PostForm.Get("csrf"), cookie) {
		s.badForm(w, r)
		return
	}
	returnTo, err := ValidateReturnTo(r.PostForm.Get("return_to"))
	if err != nil {
		s.invalidReturnTo(w, r, err)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	form := page{Title: "Sign in", ReturnTo: returnTo, CSRF: cookie, Username: username}
	if len(username) > maxUsernameLen {
		form.Username = ""
	}
	if username == "" || password == "" {
		form.Error = "Enter your username and password."
		s.render(w, r, http.StatusOK, "login", form)
		return
	}

	keys := s.limitKeys(r, username)
	wait, err := s.reserve(ctx, keys)
	if err != nil {
		s.fail(w, r, "rate limit", err)
		return
	}
	if wait > 0 {
		s.log.WarnContext(ctx, "login: rate limited", "client_ip", s.clientIP(r))
		s.tooMany(w, r, retryAfterSeconds(wait), form, "login")
		return
	}

	u, err := s.authenticate(ctx, r, username, password)
	switch {
	case errors.Is(err, errBadCredentials): // the reserved attempt stays counted
		form.Error = genericLoginError
		s.render(w, r, http.StatusOK, "login", form)
		return
	case err != nil:
		s.release(ctx, keys)
		s.fail(w, r, "authenticate", err)
		return
	}
	s.release(ctx, keys)

	if u.TOTPSecret != "" {
		if err := s.startPending(ctx, w, u, returnTo); err != nil {
			s.fail(w, r, "pending login", err)
			return
		}
		s.redirect(w, "/login/otp")
		return
	}
	if _, err := s.startSession(ctx, w, r, u, []string{AMRPassword}, ACRPassword); err != nil {
		s.fail(w, r, "start session", err)
		return
	}
	s.redirect(w, returnTo)
}

// authenticate checks a username and password. Unknown users cost one hash against dummyHash;
// disabled users are refused after the hash. All three give errBadCredentials; only storage and
// context errors differ.
func (s *Service) authenticate(ctx context.Context, r *http.Request, username, password string) (*storage.User, error) {
	reason, userID := "", ""
	defer func() {
		if reason != "" {
			s.log.InfoContext(ctx, "login: password refused", "reason", reason, "client_ip", s.clientIP(r))
			s.emit(ctx, r, Event{Type: EventLoginFailed, UserID: userID, Reason: reason})
		}
	}()
	if len(username) > maxUsernameLen || len(password) > maxPasswordLen {
		_, _ = s.verifyPassword(ctx, dummyHash, "")
		reason = "oversized"
		return nil, errBadCredentials
	}
	u, err := s.store.GetUserByUsername(ctx, username)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if _, err := s.verifyPassword(ctx, dummyHash, password); err != nil {
			return nil, err
		}
		reason = "unknown_user"
		return nil, errBadCredentials
	case err != nil:
		return nil, fmt.Errorf("login: get user: %w", err)
	}
	userID = u.ID
	ok, err := s.verifyPassword(ctx, u.PasswordHash, password)
	switch {
	case errors.Is(err, ErrInvalidHash):
		_, _ = s.verifyPassword(ctx, dummyHash, password) // same cost as any other refusal
		s.log.ErrorContext(ctx, "login: user has no usable password hash", "user_id", u.ID, "err", err)
		reason = "bad_hash"
		return nil, errBadCredentials
	case err != nil:
		return nil, err
	case !ok:
		reason = "wrong_password"
		return nil, errBadCredentials
	case u.Disabled:
		reason = "disabled"
		return nil, errBadCredentials
	}
	return u, nil
}

// parseForm bounds and parses a POST body; on failure it has answered 400.
func (s *Service) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	return true
}

func (s *Service) invalidReturnTo(w http.ResponseWriter, r *http.Request, err error) {
	s.log.WarnContext(r.Context(), "login: return_to refused", "err", err)
	s.message(w, r, http.StatusBadRequest, "Invalid sign-in link",
		"This sign-in link is not valid. Go back to the application and start again.")
}

// hasPromptValue reports whether the space-separated OIDC prompt contains v.
func hasPromptValue(prompt, v string) bool {
	for _, p := range strings.Fields(prompt) {
		if p == v {
			return true
		}
	}
	return false
}

// pendingTTL is how long a correct password waits for its second factor.
const pendingTTL = 5 * time.Minute
