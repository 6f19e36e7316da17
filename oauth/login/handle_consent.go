package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/actas-dev/actas/storage"
)

var errConsentGone = errors.New("login: consent request unknown or expired")

// loadConsentRequest reads the pending consent question named by the form or query value.
func (s *Service) loadConsentRequest(ctx context.Context, id string) (*consentRequest, error) {
	if !wellFormedID(id) {
		return nil, errConsentGone
	}
	var c consentRequest
	err := s.store.GetRecord(ctx, kindConsentRequest, id, &c)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errConsentGone
	case err != nil:
		return nil, fmt.Errorf("login: get consent request: %w", err)
	}
	if _, err := ValidateReturnTo(c.ReturnTo); err != nil {
		return nil, errConsentGone
	}
	return &c, nil
}

// handleConsentPage serves GET /consent?request=<id>. Without a login session the browser is sent
// to log in and then back to the authorization request, which asks for consent again.
func (s *Service) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("request")
	c, err := s.loadConsentRequest(ctx, id)
	if err != nil {
		s.consentFailed(w, r, err)
		return
	}
	ls, err := s.Current(r)
	switch {
	case errors.Is(err, ErrNoSession):
		s.toLogin(w, c.ReturnTo)
		return
	case err != nil:
		s.fail(w, r, "current session", err)
		return
	}
	account := ls.Subject
	u, err := s.store.GetUser(ctx, ls.Subject)
	switch {
	case err == nil && u.Name != "":
		account = u.Name + " (" + u.Username + ")"
	case err == nil:
		account = u.Username
	case errors.Is(err, storage.ErrUnavailable):
		s.fail(w, r, "get user", err)
		return
	}
	s.render(w, r, http.StatusOK, "consent", page{
		Title: "Allow access", ClientName: c.ClientName, ClientID: c.ClientID, Scopes: scopeViews(c.Scopes),
		Request: id, CSRF: ls.CSRFToken, Account: account,
	})
}

// handleConsentSubmit serves POST /consent (behind CrossOriginProtection). The form's token must be
// the login session's CSRF token; the decision applies to the session's subject and the stored
// consent request, which is then deleted (one decision per request).
func (s *Service) handleConsentSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !s.parseForm(w, r) {
		return
	}
	id := r.PostForm.Get("request")
	c, err := s.loadConsentRequest(ctx, id)
	if err != nil {
		s.consentFailed(w, r, err)
		return
	}
	ls, err := s.Current(r)
	switch {
	case errors.Is(err, ErrNoSession):
		s.toLogin(w, c.ReturnTo)
		return
	case err != nil:
		s.fail(w, r, "current session", err)
		return
	}
	if !equalToken(r.PostForm.Get("csrf"), ls.CSRFToken) {
		s.badForm(w, r)
		return
	}
	action := r.PostForm.Get("action")
	if action != "approve" && action != "deny" {
		s.message(w, r, http.StatusBadRequest, "Bad request", "Choose Allow or Deny.")
		return
	}
	// Consume the request first, so it cannot be decided again from another tab later.
	if err := s.store.DeleteRecord(ctx, kindConsentRequest, id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			err = errConsentGone
		}
		s.consentFailed(w, r, err)
		return
	}
	if action == "deny" {
		s.log.InfoContext(ctx, "consent denied", "user_id", ls.Subject, "client_id", c.ClientID)
		s.redirect(w, appendQuery(c.ReturnTo, ConsentDeniedParam, "denied"))
		return
	}
	if err := s.GrantConsent(ctx, ls.Subject, c.ClientID, c.Scopes); err != nil {
		s.fail(w, r, "grant consent", err)
		return
	}
	s.log.InfoContext(ctx, "consent granted", "user_id", ls.Subject, "client_id", c.ClientID, "scopes", c.Scopes)
	s.redirect(w, c.ReturnTo)
}

// toLogin sends the browser to the login page, to resume returnTo afterwards.
func (s *Service) toLogin(w http.ResponseWriter, returnTo string) {
	setPageHeaders(w.Header())
	w.Header().Set("Location", s.LoginURL(returnTo, "", ""))
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Service) consentFailed(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errConsentGone) {
		s.fail(w, r, "consent request", err)
		return
	}
	s.message(w, r, http.StatusBadRequest, "Request expired",
		"This consent request is unknown or has expired. Go back to the application and try again.")
}
