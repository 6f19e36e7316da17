package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
	"github.com/actas-dev/actas/internal/httpx"
	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	redisstore "github.com/actas-dev/actas/storage/redis"
)

// app is one wired actas process: everything serve needs, built from the configuration.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *storage.Store
	keys     *keys.Holder
	login    *login.Service
	provider *oauth.Provider
	reps     *exchange.Service
	trail    *audit.Trail
	metrics  *httpx.Metrics
	ready    *httpx.Readiness
	public   http.Handler
	ops      http.Handler
}

// newApp wires the application. Each step is a small function; any error stops start-up with
// one line that names what failed.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, metrics: httpx.NewMetrics(version, revision)}
	kv, err := openStorage(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	a.store = storage.NewStore(kv, storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	if a.trail, err = newTrail(cfg, kv, log, a.metrics); err != nil {
		a.store.Close()
		return nil, err
	}
	if a.keys, err = loadKeys(cfg); err != nil {
		a.store.Close()
		return nil, err
	}
	secret, previous, err := globalSecrets(cfg)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	hasher := oauth.NewSecretHasher(secret, previous...)
	if err := seed(ctx, a.store, cfg, hasher); err != nil {
		a.store.Close()
		return nil, err
	}
	if a.login, err = newLogin(cfg, a.store, log, a.trail); err != nil {
		a.store.Close()
		return nil, err
	}
	engine, err := buildPolicy(cfg.Policy, cfg.Issuer)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	reps, err := exchange.NewService(exchange.ServiceOptions{
		KV: kv, Store: a.store, Issuer: cfg.Issuer,
		LogoutSigner:      a.keys.Signer(cfg.Tokens.IDTokenAlg),
		LoginSessions:     a.login,
		ImpersonatorRoles: cfg.Policy.ImpersonatorRoles,
		SingleSession:     cfg.Representations.SingleSession,
		Retention:         cfg.Representations.Retention,
		Logger:            log,
		Audit:             exchangeAudit{a.trail},
	})
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.reps = reps
	handoffs, err := exchange.NewHandoffs(reps, exchange.HandoffOptions{TTL: cfg.Handoff.TTL, AccessTokenTTL: cfg.Policy.AccessTokenTTL})
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.login.OnLoginSessionEnded(reps.OnLoginSessionEnded)
	consents, err := exchange.NewConsentService(exchange.ConsentOptions{
		Store: a.store, Issuer: cfg.Issuer, Login: a.login, Policy: engine,
		Representations: exchange.ConsentReps(reps), MaxDuration: cfg.Policy.SessionTTL,
		RequestTTL: cfg.Consent.RequestTTL, Retention: cfg.Consent.Retention, MeScopes: cfg.Consent.MeScopes,
		SecretText: audit.LooksLikeSecret,
		Audit:      exchangeAudit{a.trail}, Logger: log,
	})
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.provider, err = oauth.New(oauth.Options{
		Issuer:          cfg.Issuer,
		Store:           a.store,
		Keys:            a.keys,
		AccessTokenAlg:  cfg.Tokens.AccessTokenAlg,
		IDTokenAlg:      cfg.Tokens.IDTokenAlg,
		GlobalSecret:    secret,
		PreviousSecrets: previous,
		Lifespans: oauth.Lifespans{
			AccessToken:   cfg.Tokens.AccessTokenLifespan,
			RefreshToken:  cfg.Tokens.RefreshTokenLifespan,
			IDToken:       cfg.Tokens.IDTokenLifespan,
			AuthorizeCode: cfg.Tokens.AuthorizeCodeLifespan,
		},
		EnforcePKCE:    cfg.Tokens.EnforcePKCE,
		Login:          a.login,
		Logger:         log,
		OnStorageError: a.metrics.StorageError,
		OnTokenRevoked: func(ctx context.Context, clientID, hint string) {
			var detail map[string]string
			if hint == "access_token" || hint == "refresh_token" { // RFC 7009 §2.1's; anything else is the client's text
				detail = map[string]string{"token_type_hint": hint}
			}
			a.trail.RecordBestEffort(ctx, audit.Event{Type: audit.TypeTokenRevoked, Client: clientID, Detail: detail})
		},
		Grants: []oauth.GrantFactory{exchange.Grant(exchange.Options{
			Decider: engine, Representations: reps, Consents: consents, Logger: log, Audit: exchangeAudit{a.trail},
			MaxActDepth: cfg.Exchange.MaxActDepth, TrustedIssuers: trustedIssuers(cfg.Exchange.TrustedIssuers),
			SecretText: audit.LooksLikeSecret})},
		ExtraGrantTypes: []string{exchange.GrantType},
		RefreshGuard:    exchange.RefreshGuard(reps),
	})
	if err != nil {
		a.store.Close()
		return nil, err
	}

	reps.SetAuthenticator(a.provider)
	mux := http.NewServeMux()
	a.provider.Routes(mux)
	reps.Routes(mux)
	handoffs.Routes(mux)
	a.login.Routes(mux)
	(&exchange.PolicyAPI{Auth: a.provider, Policy: engine, Users: a.store, Representations: reps,
		Audit: exchangeAudit{a.trail}, Issuer: cfg.Issuer}).Routes(mux)
	a.trail.Routes(mux, auditAuth{a.provider})
	consents.Routes(mux, a.provider)
	(&exchange.ActivityAPI{Clients: a.provider, Reps: reps, Audit: exchangeAudit{a.trail}}).Routes(mux)
	go consents.Run(ctx, time.Minute) // expires unanswered requests (consent.expired)
	if err := recordConfigLoaded(ctx, a.trail, cfg); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("audit: record the configuration: %w", err)
	}
	trusted, err := parseTrustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		a.store.Close()
		return nil, err
	}
	a.public = httpx.Wrap(withClientIP(httpx.JSONFallback(mux, "/api/", "/oauth2/"), trusted), httpx.WrapOptions{Logger: log, Metrics: a.metrics, MaxBodyBytes: cfg.Server.Public.MaxBodyBytes})

	a.ready = httpx.NewReadiness(a.store.Ping, 500*time.Millisecond, 400*time.Millisecond, log, a.metrics)
	a.ready.AddCheck("keys", func(context.Context) error {
		if a.keys.Load() == nil {
			return errors.New("no signing keys loaded")
		}
		return nil
	})
	a.ops = httpx.Wrap(httpx.OpsHandler(a.ready, a.metrics), httpx.WrapOptions{Metrics: a.metrics})
	return a, nil
}

// Close releases storage connections.
func (a *app) Close() {
	if a.reps != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.reps.Close(ctx) // lets back-channel logouts in flight finish
		cancel()
	}
	_ = a.store.Close()
}

func (a *app) publicServer() *httpx.NamedServer {
	p := a.cfg.Server.Public
	return &httpx.NamedServer{Name: "public", Server: httpx.NewServer(p.Addr, a.public, httpx.Timeouts{
		ReadHeader: p.ReadHeaderTimeout, Read: p.ReadTimeout, Write: p.WriteTimeout, Idle: p.IdleTimeout,
	})}
}

func (a *app) opsServer() *httpx.NamedServer {
	return &httpx.NamedServer{Name: "ops", Server: httpx.NewServer(a.cfg.Server.Ops.Addr, a.ops, httpx.Timeouts{})}
}

// openStorage opens the configured backend; an unreachable Redis stops start-up.
func openStorage(ctx context.Context, c config.Storage) (storage.KV, error) {
	switch c.Backend {
	case config.BackendMemory:
		return memory.New(), nil
	case config.BackendRedis:
		kv, err := redisstore.New(ctx, redisstore.Options{
			URL: c.Redis.URL, Addrs: c.Redis.Addrs, MasterName: c.Redis.MasterName,
			Username: c.Redis.Username, Password: c.Redis.Password, DB: c.Redis.DB,
			KeyPrefix: c.Redis.KeyPrefix, Timeout: c.Timeout, PoolSize: c.Redis.PoolSize,
			AutoPipeline: c.Redis.AutoPipeline,
		})
		if err != nil {
			return nil, fmt.Errorf("storage.redis: %w", err)
		}
		return kv, nil
	}
	return nil, fmt.Errorf("storage.backend: unknown backend %q", c.Backend)
}

// loadKeys reads the configured keys; in dev mode without keys it generates an ES256 and an RS256
// key (and an EdDSA key when selected), valid for this process only.
func loadKeys(cfg *config.Config) (*keys.Holder, error) {
	var ks []keys.Key
	for _, k := range cfg.Keys {
		if keys.State(k.State) == keys.StateRemoved {
			continue // neither published nor accepted; its file may be gone
		}
		key, err := keys.LoadFile(k.File, k.Kid, k.Alg, keys.State(k.State))
		if err != nil {
			return nil, err
		}
		ks = append(ks, key)
	}
	if len(ks) == 0 && cfg.Dev {
		algs := []string{keys.ES256, keys.RS256}
		for _, alg := range []string{cfg.Tokens.AccessTokenAlg, cfg.Tokens.IDTokenAlg} {
			if alg == keys.EdDSA {
				algs = append(algs, keys.EdDSA)
				break
			}
		}
		for _, alg := range algs {
			k, err := keys.Generate(alg)
			if err != nil {
				return nil, err
			}
			ks = append(ks, k)
		}
	}
	set, err := keys.NewSet(ks)
	if err != nil {
		return nil, err
	}
	return keys.NewHolder(set), nil
}

// globalSecrets returns fosite's HMAC secret and the previous ones; dev mode without one generates
// a random secret (codes and refresh tokens then do not survive a restart).
func globalSecrets(cfg *config.Config) ([]byte, [][]byte, error) {
	var previous [][]byte
	for _, p := range cfg.Secrets.Previous {
		previous = append(previous, []byte(p))
	}
	if cfg.Secrets.Global != "" {
		return []byte(cfg.Secrets.Global), previous, nil
	}
	if !cfg.Dev {
		return nil, nil, errors.New("secrets.global: required (at least 32 bytes), or secrets.global_file")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, nil, err
	}
	return b, previous, nil
}

func newLogin(cfg *config.Config, store *storage.Store, log *slog.Logger, trail *audit.Trail) (*login.Service, error) {
	return login.New(login.Options{
		// The client address withClientIP put in the request (server.trusted_proxies), as everywhere
		// else: behind a proxy the per-address limit and the audit trail see the client, not the proxy.
		ClientIP: func(r *http.Request) string {
			if a := exchange.ClientIP(r.Context()); a.IsValid() {
				return a.String()
			}
			return r.RemoteAddr
		},
		OnEvent: func(ctx context.Context, e login.Event) {
			ae := audit.Event{Type: e.Type, Actor: e.UserID, ReasonCode: e.Reason, SourceAddress: e.ClientIP, UserAgent: e.UserAgent}
			if len(e.AMR) > 0 {
				ae.Detail = map[string]string{"amr": strings.Join(e.AMR, " ")}
			}
			trail.RecordBestEffort(ctx, ae) // login events never block a login; a lost one is counted
		},
		Store:              store,
		Logger:             log,
		Issuer:             cfg.Issuer,
		InsecureCookies:    !cfg.Login.CookieSecure,
		IdleTimeout:        cfg.Login.SessionIdleTimeout,
		AbsoluteTimeout:    cfg.Login.SessionAbsoluteTimeout,
		MaxAttemptsPerUser: cfg.Login.MaxAttemptsPerUser,
		MaxAttemptsPerIP:   cfg.Login.MaxAttemptsPerIP,
		RateWindow:         cfg.Login.AttemptWindow,
	})
}
