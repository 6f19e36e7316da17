package login

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/actas-dev/actas/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/login.css
var assetFS embed.FS

// pageNames are the page templates; each is parsed together with templates/layout.html.
var pageNames = []string{"login", "otp", "consent", "message"}

func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("login: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every template receives; each page reads the fields it needs.
type page struct {
	Base       string // issuer path prefix, for links and form actions
	Title      string
	Error      string
	Message    string
	ReturnTo   string
	CSRF       string
	Username   string
	ClientName string
	ClientID   string
	Request    string
	Scopes     []scopeView
	Account    string
}

// setPageHeaders: pages may carry secrets (CSRF tokens, a pending sign-in) and must never be framed
// (clickjacking) or cached.
func setPageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// render writes the page with status. The template runs into a buffer first, so a template error
// becomes a clean 500.
func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Base = s.base
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.ErrorContext(r.Context(), "login page failed to render", "page", name, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Internal Server Error</p>\n")
	}
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// message renders a page with a title and one paragraph.
func (s *Service) message(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	s.render(w, r, status, "message", page{Title: title, Message: text})
}

// fail answers a storage or internal error: 503 for storage.ErrUnavailable (fail closed, never
// "wrong password"), 500 otherwise.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, storage.ErrUnavailable) {
		s.log.WarnContext(r.Context(), "login: storage unavailable", "step", what, "err", err)
		w.Header().Set("Retry-After", "5")
		s.message(w, r, http.StatusServiceUnavailable, "Temporarily unavailable",
			"Sign-in is temporarily unavailable. Please try again in a moment.")
		return
	}
	s.log.ErrorContext(r.Context(), "login: internal error", "step", what, "err", err)
	s.message(w, r, http.StatusInternalServerError, "Something went wrong",
		"Sign-in failed because of an internal error. Please try again later.")
}

// redirect sends the browser to a validated return_to (a path relative to the issuer) with 303, so a
// POST becomes a GET.
func (s *Service) redirect(w http.ResponseWriter, returnTo string) {
	setPageHeaders(w.Header())
	w.Header().Set("Location", s.base+returnTo)
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Service) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "login: cross-origin form post refused", "path", r.URL.Path)
	s.message(w, r, http.StatusForbidden, "Request refused",
		"This form was not sent from this site. Go back to the application and try again.")
}

func (s *Service) badForm(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusForbidden, "Form expired",
		"This form has expired or was not sent by this site. Reload the page and try again.")
}

func (s *Service) tooMany(w http.ResponseWriter, r *http.Request, wait int, p page, name string) {
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	p.Error = fmt.Sprintf("Too many failed sign-in attempts. Please wait %s and try again.", humanWait(wait))
	s.render(w, r, http.StatusTooManyRequests, name, p)
}

func humanWait(sec int) string {
	switch {
	case sec <= 1:
		return "1 second"
	case sec < 60:
		return strconv.Itoa(sec) + " seconds"
	case sec < 120:
		return "1 minute"
	default:
		return strconv.Itoa((sec+59)/60) + " minutes"
	}
}

// serveCSS serves the embedded stylesheet (the pages have no inline styles, so CSP needs no
// 'unsafe-inline').
func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, assetFS, "assets/login.css")
}
