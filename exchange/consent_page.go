package exchange

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"time"

	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
)

//go:embed consent_templates/access.html consent_templates/access.css
var accessFS embed.FS

// accessPath is the hosted page, below the issuer's path.
const accessPath = "/account/access"

func parseAccessPage() (*template.Template, error) {
	t, err := template.ParseFS(accessFS, "consent_templates/access.html")
	if err != nil {
		return nil, fmt.Errorf("exchange: account page template: %w", err)
	}
	return t, nil
}

// pageRoutes mounts the hosted page (when a login service is configured). Its POST is behind
// net/http.CrossOriginProtection and carries the login session's CSRF token; every answer
// forbids framing (clickjacking) and caching.
func (s *ConsentService) pageRoutes(mux *http.ServeMux) {
	if s.o.Login == nil {
		return
	}
	mux.HandleFunc("GET "+s.base+accessPath, s.pageGet)
	mux.Handle("POST "+s.base+accessPath, s.cop.Handler(http.HandlerFunc(s.pagePost)))
	mux.HandleFunc("GET "+s.base+"/assets/account/access.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFileFS(w, r, accessFS, "consent_templates/access.css")
	})
}

// accessPage is what the template receives.
type accessPage struct {
	Base, Account, CSRF    string
	Notice, Error, Message string
	Pending, Granted, Past []accessItem
	RepsShown              bool
	Reps                   []repItem
	RepsError              string
}

type accessItem struct {
	ID, AgentName, Reason, Ticket, StateLabel, Duration string
	Created, Expires, Decided, Ended                    timeView
	HasEnded                                            bool
}

type repItem struct {
	ID, ActorName, ClientID, Reason, Ticket string
	Started, Expires                        timeView
}

// timeView is a time in UTC with a relative hint ("in 25 minutes").
type timeView struct{ ISO, UTC, Rel string }

func viewTime(t, now time.Time) timeView {
	return timeView{ISO: t.UTC().Format(time.RFC3339), UTC: t.UTC().Format("2006-01-02 15:04 UTC"), Rel: relativeTime(t, now)}
}

// relativeTime says how far t is from now in words: "in 25 minutes", "3 hours ago".
func relativeTime(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	d = d.Abs()
	var s string
	switch {
	case d < 45*time.Second:
		if future {
			return "in less than a minute"
		}
		return "just now"
	case d < 90*time.Second:
		s = "1 minute"
	case d < 45*time.Minute:
		s = fmt.Sprintf("%d minutes", int(math.Round(d.Minutes())))
	case d < 90*time.Minute:
		s = "1 hour"
	case d < 22*time.Hour:
		s = fmt.Sprintf("%d hours", int(math.Round(d.Hours())))
	case d < 36*time.Hour:
		s = "1 day"
	default:
		s = fmt.Sprintf("%d days", int(math.Round(d.Hours()/24)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// humanDuration writes a grant's duration: "1 hour 30 minutes".
func humanDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case h > 0 && m > 0:
		return plural(h, "hour") + " " + plural(m, "minute")
	case h > 0:
		return plural(h, "hour")
	}
	return plural(max(m, 1), "minute")
}

var stateLabels = map[string]string{
	ConsentApproved: "approved, not used yet", ConsentUsed: "approved and in use",
	ConsentDeclined: "declined", ConsentWithdrawn: "withdrawn by the agent", ConsentExpired: "expired",
	ConsentRevoked: "ended by you",
}

// pageNotices are the messages after a redirect (?done=…): fixed texts, never from the query.
var pageNotices = map[string]string{
	"approved": "Access approved. The agent can now act as you until it ends or you end it.",
	"declined": "Request declined.",
	"revoked":  "Access ended. Any session it was used for has been ended.",
	"ended":    "The session has been ended.",
}

func setAccessHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *ConsentService) render(w http.ResponseWriter, r *http.Request, status int, p accessPage) {
	p.Base = s.base
	var buf bytes.Buffer
	if err := s.pages.Execute(&buf, p); err != nil {
		s.o.Logger.ErrorContext(r.Context(), "account page failed to render", "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Internal Server Error</p>\n")
	}
	setAccessHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *ConsentService) message(w http.ResponseWriter, r *http.Request, status int, text string) {
	s.render(w, r, status, accessPage{Message: text})
}

func (s *ConsentService) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.o.Logger.WarnContext(r.Context(), "consent: cross-origin form post refused", "path", r.URL.Path)
	s.message(w, r, http.StatusForbidden, "This form was not sent from this site. Open the page again and retry.")
}

// session returns the browser's login session; without one it answers with a redirect to the
// login page (which comes back here) and returns nil.
func (s *ConsentService) session(w http.ResponseWriter, r *http.Request) *storage.LoginSession {
	ls, err := s.o.Login.Current(r)
	switch {
	case err == nil:
		return ls
	case errors.Is(err, login.ErrNoSession):
		setAccessHeaders(w.Header())
		w.Header().Set("Location", s.o.Login.LoginURL(accessPath, "", ""))
		w.WriteHeader(http.StatusSeeOther)
	default:
		s.pageFailed(w, r, err)
	}
	return nil
}

func (s *ConsentService) pageFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrUnavailable) {
		w.Header().Set("Retry-After", "5")
		s.message(w, r, http.StatusServiceUnavailable, "This page is temporarily unavailable. Please try again in a moment.")
		return
	}
	s.o.Logger.ErrorContext(r.Context(), "consent: account page failed", "err", err)
	s.message(w, r, http.StatusInternalServerError, "Something went wrong. Please try again later.")
}

func (s *ConsentService) pageGet(w http.ResponseWriter, r *http.Request) {
	ls := s.session(w, r)
	if ls == nil {
		return
	}
	p, err := s.pageData(r.Context(), ls)
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	p.Notice = pageNotices[r.URL.Query().Get("done")]
	s.render(w, r, http.StatusOK, p)
}

// pageData loads what the target sees.
func (s *ConsentService) pageData(ctx context.Context, ls *storage.LoginSession) (accessPage, error) {
	p := accessPage{CSRF: ls.CSRFToken, Account: ls.Subject}
	if u, err := s.o.Store.GetUser(ctx, ls.Subject); err == nil {
		p.Account = displayName(u)
	} else if errors.Is(err, storage.ErrUnavailable) {
		return p, err
	}
	all, err := s.ForTarget(ctx, ls.Subject)
	if err != nil {
		return p, err
	}
	now := s.o.Now()
	for _, q := range all {
		it := accessItem{ID: q.ID, AgentName: q.AgentName, Reason: q.Reason, Ticket: q.Ticket,
			StateLabel: stateLabels[q.State], Duration: humanDuration(q.Duration()),
			Created: viewTime(q.CreatedAt, now), Expires: viewTime(q.ExpiresAt, now),
			Decided: viewTime(q.DecidedAt, now), Ended: viewTime(q.EndedAt, now), HasEnded: !q.EndedAt.IsZero()}
		if it.AgentName == "" {
			it.AgentName = q.Agent
		}
		switch {
		case q.State == ConsentPending:
			p.Pending = append(p.Pending, it)
		case q.State == ConsentApproved, q.State == ConsentUsed && now.Before(q.ExpiresAt):
			p.Granted = append(p.Granted, it)
		default:
			if q.State == ConsentUsed {
				it.StateLabel, it.Ended, it.HasEnded = "used, now over", viewTime(q.ExpiresAt, now), true
			}
			p.Past = append(p.Past, it)
		}
	}
	if s.o.Representations != nil {
		p.RepsShown = true
		reps, err := s.o.Representations.ActiveForTarget(ctx, ls.Subject)
		if err != nil {
			s.o.Logger.WarnContext(ctx, "consent: list representations for the account page", "err", err)
			p.RepsError = "The sessions acting as you could not be loaded; reload the page."
		}
		for _, rp := range reps {
			name := rp.Actor
			if u, err := s.o.Store.GetUser(ctx, rp.Actor); err == nil {
				name = displayName(u)
			}
			p.Reps = append(p.Reps, repItem{ID: rp.ID, ActorName: name, ClientID: rp.ClientID, Reason: rp.Reason,
				Ticket: rp.Ticket, Started: viewTime(rp.StartedAt, now), Expires: viewTime(rp.ExpiresAt, now)})
		}
	}
	return p, nil
}

const maxPageForm = 4 << 10

func (s *ConsentService) pagePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "The form could not be read. Open the page again and retry.")
		return
	}
	ls := s.session(w, r)
	if ls == nil {
		return
	}
	tok := r.PostForm.Get("csrf")
	if ls.CSRFToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(ls.CSRFToken)) != 1 {
		s.message(w, r, http.StatusForbidden, "This form has expired or was not sent by this site. Open the page again and retry.")
		return
	}
	ctx, id, user := r.Context(), r.PostForm.Get("id"), ls.Subject
	var err error
	var done string
	switch done = r.PostForm.Get("action"); done {
	case "approve":
		_, err = s.Approve(ctx, id, user, 0)
	case "decline":
		_, err = s.Decline(ctx, id, user)
	case "revoke":
		_, err = s.Revoke(ctx, id, user)
	case "end":
		err = s.EndRepresentation(ctx, id, user)
	default:
		s.message(w, r, http.StatusBadRequest, "Choose one of the buttons on the page.")
		return
	}
	if err != nil {
		s.pageError(w, r, ls, err)
		return
	}
	setAccessHeaders(w.Header())
	w.Header().Set("Location", s.base+accessPath+"?done="+pastTense(done))
	w.WriteHeader(http.StatusSeeOther)
}

// pageError shows the page again with what went wrong (409 for a request that changed meanwhile).
func (s *ConsentService) pageError(w http.ResponseWriter, r *http.Request, ls *storage.LoginSession, err error) {
	var state *ConsentStateError
	status, text := 0, ""
	switch {
	case errors.As(err, &state):
		status, text = http.StatusConflict, fmt.Sprintf("This request is already %s, so it cannot be %s.",
			cmpOr(stateLabels[state.State], state.State), pastTense(state.Want))
	case errors.Is(err, ErrConsentNotFound):
		status, text = http.StatusNotFound, "This request or session no longer exists."
	default:
		s.pageFailed(w, r, err)
		return
	}
	p, lerr := s.pageData(r.Context(), ls)
	if lerr != nil {
		s.pageFailed(w, r, lerr)
		return
	}
	p.Error = text
	s.render(w, r, status, p)
}
