package login

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/actas-dev/actas/storage"
)

// Authentication context values stored in [storage.LoginSession] and copied by the provider into
// ID tokens and access tokens (OIDC Core §2 `acr` and `amr`, RFC 8176 for the amr values).
const (
	// ACRPassword ("1") is a login with the password alone.
	ACRPassword = "1"
	// ACRMFA ("2") is a login with the password and a TOTP code.
	ACRMFA = "2"
)

// AMR values (RFC 8176 §2).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRMFA      = "mfa"
)

// ConsentDeniedParam is the query parameter that the consent page appends (value "denied") to
// return_to when the user denies the request. The provider should then answer the client with
// access_denied (RFC 6749 §4.1.2.1). Anyone can add it to a URL; it can only make a request fail.
const ConsentDeniedParam = "actas_consent"

// Sentinel errors.
var (
	// ErrNoSession: the request has no login session cookie, or its session is unknown or expired.
	ErrNoSession = errors.New("login: no valid login session")
	// ErrInvalidReturnTo: a return_to is not an allowed same-origin path.
	ErrInvalidReturnTo = errors.New("login: invalid return_to")
	// ErrInvalidHash: a stored password hash is not a supported argon2id PHC string.
	ErrInvalidHash = errors.New("login: invalid password hash")
)

// Store is the part of storage.Store that login uses. ErrNotFound, ErrConflict and ErrUnavailable
// are the storage package's sentinels.
type Store interface {
	GetUserByUsername(ctx context.Context, username string) (*storage.User, error)
	GetUser(ctx context.Context, id string) (*storage.User, error)
	CreateLoginSession(ctx context.Context, s *storage.LoginSession, idleTTL time.Duration) error
	GetLoginSession(ctx context.Context, id string) (*storage.LoginSession, error)
	// TouchLoginSession must not re-create a session that was deleted meanwhile (ErrNotFound then).
	TouchLoginSession(ctx context.Context, s *storage.LoginSession, idleTTL time.Duration) error
	DeleteLoginSession(ctx context.Context, id string) error
	ListLoginSessions(ctx context.Context, subject string) ([]*storage.LoginSession, error)
	GetRecord(ctx context.Context, kind, id string, out any) error
	CreateRecord(ctx context.Context, kind, id string, v any, ttl time.Duration) error
	UpdateRecord(ctx context.Context, kind, id string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error
	DeleteRecord(ctx context.Context, kind, id string) error
	AddToIndex(ctx context.Context, kind, id string, ttl time.Duration, members ...string) error
	IndexMembers(ctx context.Context, kind, id string) ([]string, error)
	RemoveFromIndex(ctx context.Context, kind, id string, members ...string) error
	// AddLoginClient, LoginClients and DropLoginClients keep the clients that received an
	// authorization response under a login session (see [Service.RecordClient]). AddLoginClient
	// fails with ErrNotFound when the session no longer exists.
	AddLoginClient(ctx context.Context, id string, c storage.LoginClient, until time.Time) error
	LoginClients(ctx context.Context, id string) ([]storage.LoginClient, error)
	DropLoginClients(ctx context.Context, id string) error
}

// Options configure a [Service]. Zero values take the defaults named on each field.
type Options struct {
	// Store is required.
	Store Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Issuer is the provider's issuer URL (required). Its path, if any, prefixes every route and
	// URL of this package, and its origin is trusted by the cross-origin protection.
	Issuer string
	// CookieName names the login session cookie; the CSRF and pending-login cookies append "_csrf"
	// and "_pending". Default "__Host-actas_session", or "actas_session" with InsecureCookies.
	CookieName string
	// InsecureCookies drops the Secure attribute (plain-HTTP development only, --dev).
	InsecureCookies bool
	// IdleTimeout ends a session not used for this long (default 30 minutes).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, used or not (default 12 hours).
	AbsoluteTimeout time.Duration
	// MaxAttemptsPerUser failed attempts (password or code) per username per RateWindow (default 5).
	MaxAttemptsPerUser int
	// MaxAttemptsPerIP failed attempts per client IP (IPv6: per /64) per RateWindow (default 50).
	MaxAttemptsPerIP int
	// RateWindow is the fixed rate-limit window (default 15 minutes).
	RateWindow time.Duration
	// ConsentTTL is how long a remembered consent lasts after its last grant (default 90 days).
	ConsentTTL time.Duration
	// ClientIP extracts the client address used for rate limiting; default: the host of
	// Request.RemoteAddr. Set it when actas runs behind a trusted reverse proxy.
	ClientIP func(r *http.Request) string
	// MaxConcurrentHashes bounds concurrent argon2id computations (19 MiB each); default GOMAXPROCS.
	MaxConcurrentHashes int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnLoginSessionEnded hooks are called, in order, after this package deleted a login session.
	OnLoginSessionEnded []func(ctx context.Context, subject, sessionID string)
	// OnEvent, when set, receives every login success and failure (for the audit trail). It must
	// not block; it never receives a password or a code.
	OnEvent func(ctx context.Context, e Event)
}

// Event is a login outcome reported to Options.OnEvent.
type Event struct {
	// Type is EventLoginSucceeded, EventLoginFailed or EventSecondFactorFailed.
	Type string
	// UserID is the account concerned, when the attempt named an existing one.
	UserID string
	// Reason says why an attempt failed: unknown_user, wrong_password, disabled, bad_hash,
	// oversized, code_invalid, code_replayed.
	Reason    string
	ClientIP  string
	UserAgent string
	AMR       []string
}

// Login event types (the audit trail's names).
const (
	EventLoginSucceeded     = "login.succeeded"
	EventLoginFailed        = "login.failed"
	EventSecondFactorFailed = "login.second_factor_failed"
)

// emit reports e to the OnEvent hook, if any.
func (s *Service) emit(ctx context.Context, r *http.Request, e Event) {
	if s.onEvent == nil {
		return
	}
	e.ClientIP = s.clientIP(r)
	e.UserAgent = r.UserAgent()
	s.onEvent(ctx, e)
}

// Service serves the login, second-factor and consent pages and owns login sessions.
type Service struct {
	store      Store
	log        *slog.Logger
	now        func() time.Time
	clientIP   func(r *http.Request) string
	base       string // issuer path without trailing slash
	cookie     string
	insecure   bool
	idle       time.Duration
	absolute   time.Duration
	maxUser    int
	maxIP      int
	window     time.Duration
	consentTTL time.Duration
	hashSem    chan struct{}
	cop        *http.CrossOriginProtection
	pages      map[string]*template.Template

	onEvent func(ctx context.Context, e Event)

	hookMu sync.RWMutex
	hooks  []func(ctx context.Context, subject, sessionID string)
}

// New validates o, applies defaults and builds the Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("login: Options.Store is required")
	}
	iss, err := url.Parse(o.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" ||
		iss.RawQuery != "" || iss.Fragment != "" || iss.User != nil {
		return nil, fmt.Errorf("login: Options.Issuer %q must be an absolute http(s) URL without query", o.Issuer)
	}
	base := strings.TrimRight(iss.Path, "/")
	if strings.ContainsAny(base, "{}%?#\\ ") {
		return nil, fmt.Errorf("login: Options.Issuer path %q has characters not allowed in a route", base)
	}
	s := &Service{
		store:      o.Store,
		log:        o.Logger,
		now:        o.Now,
		clientIP:   o.ClientIP,
		base:       base,
		cookie:     o.CookieName,
		insecure:   o.InsecureCookies,
		idle:       orDefault(o.IdleTimeout, 30*time.Minute),
		absolute:   orDefault(o.AbsoluteTimeout, 12*time.Hour),
		maxUser:    orDefault(o.MaxAttemptsPerUser, 5),
		maxIP:      orDefault(o.MaxAttemptsPerIP, 50),
		window:     orDefault(o.RateWindow, 15*time.Minute),
		consentTTL: orDefault(o.ConsentTTL, 90*24*time.Hour),
		hooks:      append([]func(context.Context, string, string){}, o.OnLoginSessionEnded...),
		onEvent:    o.OnEvent,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.clientIP == nil {
		s.clientIP = remoteIP
	}
	if s.cookie == "" {
		s.cookie = "__Host-actas_session"
		if s.insecure {
			s.cookie = "actas_session"
		}
	}
	if strings.HasPrefix(s.cookie, "__Host-") && s.insecure {
		return nil, errors.New("login: a __Host- cookie name requires secure cookies")
	}
	if err := validCookieName(s.cookie); err != nil {
		return nil, err
	}
	if s.idle < 0 || s.absolute < 0 || s.window < 0 || s.consentTTL < 0 || s.maxUser < 0 || s.maxIP < 0 {
		return nil, errors.New("login: timeouts and rate limits must not be negative")
	}
	if s.idle > s.absolute {
		return nil, fmt.Errorf("login: IdleTimeout %s exceeds AbsoluteTimeout %s", s.idle, s.absolute)
	}
	s.hashSem = make(chan struct{}, orDefault(o.MaxConcurrentHashes, runtime.GOMAXPROCS(0)))
	s.cop = http.NewCrossOriginProtection()
	if err := s.cop.AddTrustedOrigin(iss.Scheme + "://" + iss.Host); err != nil {
		return nil, fmt.Errorf("login: trusted origin: %w", err)
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	return s, nil
}

// OnLoginSessionEnded adds a hook called after this package deleted a login session (see
// [Options.OnLoginSessionEnded]). cmd uses it to wire packages built after the Service.
func (s *Service) OnLoginSessionEnded(f func(ctx context.Context, subject, sessionID string)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hooks = append(s.hooks, f)
}

// Routes mounts the pages on mux (Go 1.22 patterns; see the package documentation for the map).
func (s *Service) Routes(mux *http.ServeMux) {
	post := func(h http.HandlerFunc) http.Handler { return s.cop.Handler(h) }
	mux.HandleFunc("GET "+s.base+"/login", s.handleLoginPage)
	mux.Handle("POST "+s.base+"/login", post(s.handleLoginSubmit))
	mux.HandleFunc("GET "+s.base+"/login/otp", s.handleOTPPage)
	mux.Handle("POST "+s.base+"/login/otp", post(s.handleOTPSubmit))
	mux.HandleFunc("GET "+s.base+"/consent", s.handleConsentPage)
	mux.Handle("POST "+s.base+"/consent", post(s.handleConsentSubmit))
	mux.HandleFunc("GET "+s.base+"/assets/login/login.css", serveCSS)
}

// LoginURL is the login page's URL (a path below the issuer) for an authorization request that
// resumes at returnTo (see [ValidateReturnTo]; an invalid one makes the page answer 400). prompt is
// the request's OIDC prompt: if it contains "login" the form is shown even when the browser already
// has a session. loginHint pre-fills the username.
func (s *Service) LoginURL(returnTo, prompt, loginHint string) string {
	q := url.Values{"return_to": {returnTo}}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	if loginHint != "" {
		q.Set("login_hint", loginHint)
	}
	return s.base + "/login?" + q.Encode()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func validCookieName(name string) error {
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return fmt.Errorf("login: invalid cookie name %q", name)
		}
	}
	return nil
}
