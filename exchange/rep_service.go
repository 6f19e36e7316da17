package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/storage"
)

// Service is the representation-session service (issue 6): it implements [Representations] for
// the token-exchange grant, ends sessions (stop by either side or an administrator, expiry, the
// actor's logout, the target's sign-out everywhere, the actor losing their role), revokes every
// token issued under a session when it ends, tells relying parties through OIDC Back-Channel
// Logout 1.0, and serves the /api/v1 routes that start from [Service.Routes].
//
// One actor has at most one active session, across every replica that shares the storage: the
// lock and the session are created by one atomic storage operation (see the storage layout in
// rep_session.go). Build it with [NewService]; it is safe for concurrent use. Call
// [Service.Close] at shutdown so that back-channel deliveries in flight can finish.
type Service struct {
	o     ServiceOptions
	kv    storage.KV
	wc    storage.WritingCreator // o.KV's one-step write, when it has one (nil: step by step)
	cache repCache
	auth  atomic.Pointer[Authenticator] // set by NewService or SetAuthenticator

	bg      context.Context // background work (deliveries, re-sweeps); cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sem     chan struct{} // bounds concurrent back-channel deliveries
	sweeps  chan struct{} // bounds concurrent re-sweeps (apart, so slow relying parties never delay them)
	perRP   sync.Map      // client id → chan struct{}: bounds one client's concurrent deliveries
	tmu     sync.Mutex
	timers  map[*time.Timer]struct{} // re-sweeps waiting for their delay (stopped by Close)
	closing bool                     // set by Close: no background work is scheduled any more
}

var _ Representations = (*Service)(nil)

// RepStore is what the service needs from storage besides the KV: users (is the actor still an
// active impersonator?), clients (their back-channel logout URI) and whole-grant revocation.
// *storage.Store satisfies it.
type RepStore interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetClient(ctx context.Context, id string) (fosite.Client, error)
	RevokeAccessToken(ctx context.Context, requestID string) error
	RevokeRefreshToken(ctx context.Context, requestID string) error
}

// LoginSessions ends every login session of a user; *login.Service satisfies it (EndAllSessions,
// which also fires the "login session ended" hooks).
type LoginSessions interface {
	EndAllSessions(ctx context.Context, subject string) error
}

// ServiceOptions configure a [Service]. KV, Store and Issuer are required; LogoutSigner is
// required for back-channel logout (without it no logout token is sent, and the server must not
// advertise back-channel logout); Auth is required for [Service.Routes].
type ServiceOptions struct {
	// KV holds sessions, locks and indexes: the same backend as Store.
	KV storage.KV
	// Store revokes grants and looks up users and clients.
	Store RepStore
	// Issuer is actas's issuer URL, the `iss` of logout tokens.
	Issuer string
	// LogoutSigner signs logout tokens with the ID-token key (oauth.Provider.IDTokenSigner(), or
	// keys.Holder.Signer(idAlg)).
	LogoutSigner jwt.Signer
	// Auth authenticates callers of the API; *oauth.Provider satisfies it (or see
	// [Service.SetAuthenticator]).
	Auth Authenticator
	// LoginSessions ends a user's login sessions, for "sign out everywhere" and SingleSession;
	// optional (without it, sign-out-everywhere ends representations only).
	LoginSessions LoginSessions
	// ImpersonatorRoles: an actor holding none of them any more loses their session at its next
	// use (reason actor_role_revoked). Default: the policy's default impersonator roles.
	ImpersonatorRoles []string
	// AdminRoles may stop and read any session; AuditorRoles may read any session.
	// Defaults [admin, super_admin] and [auditor].
	AdminRoles   []string
	AuditorRoles []string
	// SingleSession: starting a representation ends the target's own login sessions (for
	// applications that cannot hold two sessions of one user). Default false.
	SingleSession bool
	// Retention is how long an ended session stays readable; default 30 days.
	Retention time.Duration
	// MaxSessionTTL bounds a session's lifetime whatever the policy says; default 24 hours.
	MaxSessionTTL time.Duration
	// HTTPClient delivers logout tokens; default a client that follows no redirects.
	HTTPClient *http.Client
	// BackchannelTimeout bounds one delivery attempt (default 5 s); BackchannelAttempts is the
	// number of attempts per client (default 4); BackchannelBackoff the delay before the first
	// retry, doubled at each retry (default 1 s).
	BackchannelTimeout  time.Duration
	BackchannelAttempts int
	BackchannelBackoff  time.Duration
	// Resweep is the delay after which a stop revokes the session's grants a second time, to catch
	// a token stored by a request that recorded its grant just before the stop; default 2 s,
	// negative to disable.
	Resweep time.Duration
	// MaxBackground bounds concurrent back-channel deliveries, and apart from them concurrent
	// re-sweeps; default 64 each. One client's deliveries take at most a quarter of the slots (at
	// least one), so a slow relying party cannot hold back the others'. When full, a stop still
	// completes: its job waits for a slot. A re-sweep waits for its delay on a timer, not in a slot.
	MaxBackground int
	// Logger; default slog.Default(). Audit receives representation events; default NopAudit.
	Logger *slog.Logger
	Audit  Audit
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Defaults of ServiceOptions.
const (
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultMaxSessionTTL = 24 * time.Hour
	// grantsMargin keeps the grant set of a session a little past its expiry.
	grantsMargin = time.Minute
	// repMaxStartAttempts bounds Start's retries after releasing a stale lock.
	repMaxStartAttempts = 5
	// repMaxCAS bounds the compare-and-swap loops on a session record.
	repMaxCAS = 50
)

// NewService validates o and builds the service.
func NewService(o ServiceOptions) (*Service, error) {
	if o.KV == nil || o.Store == nil || o.Issuer == "" {
		return nil, errors.New("exchange: representations: KV, Store and Issuer are required")
	}
	if o.Retention < 0 || o.MaxSessionTTL < 0 || o.BackchannelTimeout < 0 || o.BackchannelAttempts < 0 || o.BackchannelBackoff < 0 {
		return nil, errors.New("exchange: representations: durations and counts must not be negative")
	}
	if len(o.ImpersonatorRoles) == 0 {
		o.ImpersonatorRoles = []string{"support", "admin", "super_admin"}
	}
	if len(o.AdminRoles) == 0 {
		o.AdminRoles = []string{"admin", "super_admin"}
	}
	if len(o.AuditorRoles) == 0 {
		o.AuditorRoles = []string{"auditor"}
	}
	o.Retention = repOrDur(o.Retention, DefaultRetention)
	o.MaxSessionTTL = repOrDur(o.MaxSessionTTL, DefaultMaxSessionTTL)
	o.BackchannelTimeout = repOrDur(o.BackchannelTimeout, 5*time.Second)
	o.BackchannelBackoff = repOrDur(o.BackchannelBackoff, time.Second)
	o.Resweep = repOrDur(o.Resweep, 2*time.Second)
	if o.BackchannelAttempts == 0 {
		o.BackchannelAttempts = 4
	}
	if o.MaxBackground <= 0 {
		o.MaxBackground = 64
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Audit == nil {
		o.Audit = NopAudit{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, kv: o.KV, sem: make(chan struct{}, o.MaxBackground), sweeps: make(chan struct{}, o.MaxBackground)}
	s.wc, _ = o.KV.(storage.WritingCreator)
	s.bg, s.cancel = context.WithCancel(context.Background())
	if o.Auth != nil {
		s.SetAuthenticator(o.Auth)
	}
	return s, nil
}

// SetAuthenticator sets the API's authenticator when it could not be given to NewService: the
// provider that authenticates API callers is built after the service, because it takes the
// service for its RefreshGuard and grant. Call it before the server starts.
func (s *Service) SetAuthenticator(a Authenticator) { s.auth.Store(&a) }

func repOrDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// Close waits for background work (back-channel deliveries, re-sweeps) until ctx ends, then
// cancels what is left. From the moment it is called no new work is scheduled (the HTTP server has
// drained by then; a request it gave up on loses its delivery or sweep). The service must not be
// used afterwards.
func (s *Service) Close(ctx context.Context) error {
	s.tmu.Lock()
	s.closing = true // no wg.Add may race the Wait below
	s.tmu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.stopTimers()
		<-done
		return ctx.Err()
	}
}

// Wait blocks until no background work is in flight (tests, graceful shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// deliverLater runs f, a back-channel delivery to client, in its own goroutine with the service's
// background context (which carries nothing of the request): at most MaxBackground deliveries at a
// time, and at most a quarter of them to one client.
func (s *Service) deliverLater(client string, f func(ctx context.Context)) {
	if !s.schedule() {
		return
	}
	go func() {
		defer s.wg.Done()
		mine := s.clientSlots(client)
		for _, sem := range []chan struct{}{mine, s.sem} {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-s.bg.Done():
				return
			}
		}
		f(s.bg)
	}()
}

// clientSlots returns the semaphore of client's deliveries.
func (s *Service) clientSlots(client string) chan struct{} {
	if v, ok := s.perRP.Load(client); ok {
		return v.(chan struct{})
	}
	v, _ := s.perRP.LoadOrStore(client, make(chan struct{}, max(1, cap(s.sem)/4)))
	return v.(chan struct{})
}

// sweepLater runs f, a re-sweep, once the Resweep delay has passed: the wait is a timer (no
// goroutine, no slot), then f runs with the background context, at most MaxBackground at a time.
// A Close before the delay cancels it.
func (s *Service) sweepLater(f func(ctx context.Context)) {
	if s.o.Resweep <= 0 {
		return
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if !s.scheduleLocked() {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(s.o.Resweep, func() {
		s.tmu.Lock()
		delete(s.timers, t)
		s.tmu.Unlock()
		defer s.wg.Done()
		select {
		case s.sweeps <- struct{}{}:
			defer func() { <-s.sweeps }()
		case <-s.bg.Done():
			return
		}
		if s.bg.Err() == nil {
			f(s.bg)
		}
	})
	if s.timers == nil {
		s.timers = map[*time.Timer]struct{}{}
	}
	s.timers[t] = struct{}{}
}

// schedule counts one more background job, unless Close has begun (then the job is dropped: a
// delivery or sweep asked for by a request still running at shutdown past its deadline).
func (s *Service) schedule() bool {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	return s.scheduleLocked()
}

// scheduleLocked is schedule with tmu held.
func (s *Service) scheduleLocked() bool {
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// stopTimers stops background work from being scheduled and cancels the re-sweeps still waiting
// for their delay.
func (s *Service) stopTimers() {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	s.closing = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
		delete(s.timers, t)
	}
}

// repCache maps session ids to their actor tag and expiry, which never change: it saves the
// pointer lookup on the hot paths (RecordGrant, Active). Bounded: it is emptied when full.
type repCache struct {
	mu sync.Mutex
	m  map[string]repRef
}

type repRef struct {
	tag     string
	expires time.Time
}

const repCacheSize = 1 << 16

func (c *repCache) get(id string) (repRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[id]
	return r, ok
}

func (c *repCache) put(id string, r repRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= repCacheSize {
		c.m = make(map[string]repRef, 64)
	}
	c.m[id] = r
}

// ErrRepresentationNotFound: no representation session has this id (or it is past its
// retention). It matches storage.ErrNotFound.
var ErrRepresentationNotFound = fmt.Errorf("exchange: representation not found: %w", storage.ErrNotFound)

// ref finds the actor tag of a session id: from the cache, else from the pointer.
func (s *Service) ref(ctx context.Context, id string) (repRef, error) {
	if r, ok := s.cache.get(id); ok {
		return r, nil
	}
	if !repValidID(id) {
		return repRef{}, ErrRepresentationNotFound
	}
	raw, err := s.kv.Get(ctx, repPointerKey(id))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return repRef{}, ErrRepresentationNotFound
	case err != nil:
		return repRef{}, fmt.Errorf("exchange: representation %s: %w", id, err)
	}
	return repRef{tag: string(raw)}, nil
}

// load reads a session by id; ErrRepresentationNotFound when there is none.
func (s *Service) load(ctx context.Context, id string) (*RepSession, []byte, repRef, error) {
	ref, err := s.ref(ctx, id)
	if err != nil {
		return nil, nil, ref, err
	}
	rec, raw, err := s.loadAt(ctx, ref.tag, id)
	if err == nil && ref.expires.IsZero() {
		ref.expires = rec.ExpiresAt
		s.cache.put(id, ref)
	}
	return rec, raw, ref, err
}

// loadAt reads the session of actor tag a.
func (s *Service) loadAt(ctx context.Context, a, id string) (*RepSession, []byte, error) {
	raw, err := s.kv.Get(ctx, repSessionKey(a, id))
	return s.decodeAt(id, raw, err)
}

// decodeAt is loadAt for a record already read (raw, err: what the read returned).
func (s *Service) decodeAt(id string, raw []byte, err error) (*RepSession, []byte, error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, ErrRepresentationNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("exchange: representation %s: %w", id, err)
	}
	rec, err := decodeRep(raw)
	if err != nil {
		return nil, nil, err
	}
	if rec.ID != id {
		return nil, nil, ErrRepresentationNotFound
	}
	return rec, raw, nil
}

// recordTTL is how long a session record is kept: until its end (or expiry) plus the retention.
func (s *Service) recordTTL(r *RepSession, now time.Time) time.Duration {
	end := r.ExpiresAt
	if !r.EndedAt.IsZero() && r.EndedAt.Before(end) {
		end = r.EndedAt
	}
	return max(end.Add(s.o.Retention).Sub(now), time.Second)
}

// errRepUnchanged, returned by an update function, ends update without writing.
var errRepUnchanged = errors.New("exchange: representation unchanged")

// update changes the session record with a compare-and-swap loop: fn gets the current record
// (a fresh copy at each attempt) and changes it in place, or returns errRepUnchanged to leave it.
// It returns the record as last seen and whether fn's change was written.
func (s *Service) update(ctx context.Context, a, id string, fn func(r *RepSession) error) (*RepSession, bool, error) {
	key := repSessionKey(a, id)
	for n := 0; n < repMaxCAS; n++ {
		if n > 0 {
			if err := repBackoff(ctx, n); err != nil {
				return nil, false, err
			}
		}
		rec, raw, err := s.loadAt(ctx, a, id)
		if err != nil {
			return nil, false, err
		}
		switch err := fn(rec); {
		case errors.Is(err, errRepUnchanged):
			return rec, false, nil
		case err != nil:
			return rec, false, err
		}
		next, err := encodeRep(rec)
		if err != nil {
			return nil, false, err
		}
		err = s.kv.CompareAndSwap(ctx, key, raw, next, s.recordTTL(rec, s.o.Now()))
		switch {
		case err == nil:
			return rec, true, nil
		case errors.Is(err, storage.ErrConflict):
			continue
		case errors.Is(err, storage.ErrNotFound):
			return nil, false, ErrRepresentationNotFound
		}
		return nil, false, fmt.Errorf("exchange: update representation %s: %w", id, err)
	}
	return nil, false, fmt.Errorf("exchange: update representation %s: too many concurrent changes: %w", id, storage.ErrConflict)
}

// repBackoff sleeps a short, growing time before retry n of a compare-and-swap loop.
func repBackoff(ctx context.Context, n int) error {
	d := time.Duration(100<<min(n, 6)) * time.Microsecond
	d += time.Duration(repRandom(1)[0]) * d / 256
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// audit records a representation event; a failure is logged (the session change already
// happened and cannot be undone).
func (s *Service) audit(ctx context.Context, typ string, r *RepSession, by, reason string) {
	e := s.event(typ, r, by, reason)
	s.audited(ctx, e, s.o.Audit.Record(context.WithoutCancel(ctx), e))
}

// audited logs the failure to record e.
func (s *Service) audited(ctx context.Context, e Event, err error) {
	if err != nil {
		s.o.Logger.ErrorContext(ctx, "representation: audit failed", "type", e.Type, "representation_id", e.RepresentationID, "err", err)
	}
}

// event is the audit event of typ for the session r; by and reason are those of an end.
func (s *Service) event(typ string, r *RepSession, by, reason string) Event {
	e := Event{Type: typ, Time: s.o.Now(), Form: FormImpersonation, Actor: r.Actor, ActorIssuer: r.ActorIssuer,
		Target: r.Target, ClientID: r.ClientID, RepresentationID: r.ID, ConsentID: r.ConsentID,
		Joined: typ == EventRepresentationJoined, BreakGlass: r.BreakGlass, Reason: r.Reason, Ticket: r.Ticket}
	if typ == EventRepresentationStarted {
		e.Scopes, e.Audiences, e.RequestID = r.Scopes, r.Audiences, r.RequestID
		e.Detail = map[string]string{"expires_at": r.ExpiresAt.UTC().Format(time.RFC3339)}
	}
	if reason != "" {
		// For an end, Actor is who ended it (the audit catalogue: "Actor says by whom") and the
		// reason code says how; the represented user stays the Target and the representing one is
		// in Detail["agent"].
		e.Actor, e.ActorIssuer, e.ReasonCode, e.Rule = by, "", reason, "representation"
		e.Detail = map[string]string{"agent": r.Actor}
		if r.ActorIssuer != "" {
			e.Detail["agent_issuer"] = r.ActorIssuer
		}
	}
	return e
}

func repHasAnyRole(roles, wanted []string) bool {
	for _, r := range roles {
		if slices.Contains(wanted, r) {
			return true
		}
	}
	return false
}

// eachLimited calls f for every item, at most n at a time, and returns when all have returned.
func eachLimited[T any](n int, items []T, f func(T)) {
	next := make(chan T)
	var wg sync.WaitGroup
	for range min(n, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				f(it)
			}
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
}
