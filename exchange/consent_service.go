package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/actas-dev/actas/internal/logging"
	"github.com/actas-dev/actas/storage"
)

// ConsentService is the consent workflow (issue 8): agents ask targets for access, targets
// approve or decline (API or the hosted page /account/access), either side ends it, and the
// impersonation exchange uses an approved grant once ([Consents]). Build it with
// [NewConsentService]; it is safe for concurrent use, across replicas sharing the storage.
type ConsentService struct {
	o     ConsentOptions
	base  string // issuer path, no trailing slash
	cop   *http.CrossOriginProtection
	pages *template.Template
}

var _ Consents = (*ConsentService)(nil)

// NewConsentService validates o and builds the service.
func NewConsentService(o ConsentOptions) (*ConsentService, error) {
	if o.Store == nil {
		return nil, errors.New("exchange: consents: Store is required")
	}
	iss, err := url.Parse(o.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" {
		return nil, fmt.Errorf("exchange: consents: Issuer %q must be an absolute http(s) URL", o.Issuer)
	}
	if o.MaxDuration < 0 || o.RequestTTL < 0 || o.Retention < 0 || o.ListLimit < 0 {
		return nil, errors.New("exchange: consents: durations and limits must not be negative")
	}
	o.MaxDuration = cmpOrDuration(o.MaxDuration, DefaultConsentMaxDuration)
	o.RequestTTL = cmpOrDuration(o.RequestTTL, DefaultConsentRequestTTL)
	o.Retention = cmpOrDuration(o.Retention, DefaultConsentRetention)
	if o.ListLimit == 0 {
		o.ListLimit = defaultConsentListLimit
	}
	if o.Audit == nil {
		o.Audit = NopAudit{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &ConsentService{o: o, base: strings.TrimRight(iss.Path, "/")}
	s.cop = http.NewCrossOriginProtection()
	if err := s.cop.AddTrustedOrigin(iss.Scheme + "://" + iss.Host); err != nil {
		return nil, fmt.Errorf("exchange: consents: trusted origin: %w", err)
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	if s.pages, err = parseAccessPage(); err != nil {
		return nil, err
	}
	return s, nil
}

func cmpOrDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// recordTTL is the storage TTL given at every write of a request: long enough for the longest
// possible life (answered at the last moment, then used for the longest duration) plus the
// retention.
func (s *ConsentService) recordTTL() time.Duration {
	return s.o.RequestTTL + s.o.MaxDuration + s.o.Retention
}

// Get returns the request id (expired first if it is overdue), or ErrConsentNotFound.
func (s *ConsentService) Get(ctx context.Context, id string) (*AccessRequest, error) {
	if !consentValidID(id) {
		return nil, ErrConsentNotFound
	}
	var r AccessRequest
	err := s.o.Store.GetRecord(ctx, kindConsent, id, &r)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrConsentNotFound
	case err != nil:
		return nil, fmt.Errorf("exchange: get access request: %w", err)
	case r.ID != id:
		return nil, ErrConsentNotFound
	}
	if r.overdue(s.o.Now()) {
		e, _, err := s.expire(ctx, id)
		return e, err
	}
	return &r, nil
}

// errConsentUnchanged, returned by a transition function, ends update without writing.
var errConsentUnchanged = errors.New("exchange: access request unchanged")

// update is one atomic transition: fn changes a fresh copy of the record (called again when the
// record changed concurrently) or refuses with an error, which is returned unwrapped. It returns
// the record as written, or as last seen with errConsentUnchanged.
func (s *ConsentService) update(ctx context.Context, id string, fn func(r *AccessRequest) error) (*AccessRequest, error) {
	var out AccessRequest
	var fnErr error
	err := s.o.Store.UpdateRecord(ctx, kindConsent, id, s.recordTTL(), func(cur []byte) ([]byte, error) {
		fnErr = nil
		if cur == nil {
			fnErr = ErrConsentNotFound
			return nil, fnErr
		}
		var r AccessRequest
		if err := json.Unmarshal(cur, &r); err != nil {
			return nil, fmt.Errorf("decode access request: %w", err)
		}
		if fnErr = fn(&r); fnErr != nil {
			out = r
			return nil, fnErr
		}
		out = r
		return json.Marshal(&r)
	})
	switch {
	case err == nil:
		return &out, nil
	case fnErr != nil && errors.Is(err, fnErr):
		if errors.Is(fnErr, errConsentUnchanged) {
			return &out, fnErr
		}
		return nil, fnErr
	}
	return nil, fmt.Errorf("exchange: update access request %s: %w", id, err)
}

// expire moves an overdue pending or approved request to expired (exactly once across
// concurrent readers: the one whose compare-and-swap wins records the event) and returns it, and
// whether this call expired it.
func (s *ConsentService) expire(ctx context.Context, id string) (*AccessRequest, bool, error) {
	var was string
	r, err := s.update(ctx, id, func(r *AccessRequest) error {
		if !r.overdue(s.o.Now()) {
			return errConsentUnchanged
		}
		was = r.State
		r.State, r.EndedAt, r.EndedBy = ConsentExpired, r.ExpiresAt, ""
		return nil
	})
	switch {
	case errors.Is(err, errConsentUnchanged):
		return r, false, nil
	case err != nil:
		return nil, false, err
	}
	s.closed(ctx, r, was)
	s.audit(ctx, EventConsentExpired, r, "")
	return r, true, nil
}

// closed does the bookkeeping after a request left an open state: the pending lock is released
// (by owner), the request leaves the sweep index and, once it can no longer be used or joined
// (declined, withdrawn, expired, revoked), the agent–target index that every consent-gated
// exchange reads (so a request/withdraw loop does not make each of the pair's exchanges read its
// whole history; the agent's and the target's lists keep it). All best effort: a stale lock is
// released by the next request, and Sweep and Use skip finished requests.
func (s *ConsentService) closed(ctx context.Context, r *AccessRequest, was string) {
	ctx = context.WithoutCancel(ctx)
	if was == ConsentPending {
		s.releasePending(ctx, r)
	}
	if !r.Open() {
		if err := s.o.Store.RemoveFromIndex(ctx, kindConsentOpen, consentOpenID, r.ID); err != nil {
			s.o.Logger.WarnContext(ctx, "consent: remove from open index", "consent_id", r.ID, "err", err)
		}
	}
	if !r.Open() && r.State != ConsentUsed {
		if err := s.o.Store.RemoveFromIndex(ctx, kindConsentPair, consentPair(r.Agent, r.Target), r.ID); err != nil {
			s.o.Logger.WarnContext(ctx, "consent: remove from pair index", "consent_id", r.ID, "err", err)
		}
	}
}

// releasePending deletes the agent's pending lock for the target if it still names r.
func (s *ConsentService) releasePending(ctx context.Context, r *AccessRequest) {
	err := s.o.Store.DeleteRecordIf(ctx, kindConsentPending, consentPair(r.Agent, r.Target), func(cur []byte) (bool, error) {
		var l pendingLock
		return json.Unmarshal(cur, &l) == nil && l.ID == r.ID, nil
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
		s.o.Logger.WarnContext(ctx, "consent: release pending lock", "consent_id", r.ID, "err", err)
	}
}

// list loads the requests of an index, newest first, expiring overdue ones; members whose record
// is gone are dropped from the index.
func (s *ConsentService) list(ctx context.Context, kind, id string, keep func(*AccessRequest) bool) ([]*AccessRequest, error) {
	ids, err := s.o.Store.IndexMembers(ctx, kind, id)
	if err != nil {
		return nil, fmt.Errorf("exchange: list access requests: %w", err)
	}
	out := make([]*AccessRequest, 0, len(ids))
	var gone []string
	for _, m := range ids {
		r, err := s.Get(ctx, m)
		switch {
		case errors.Is(err, ErrConsentNotFound):
			gone = append(gone, m)
			continue
		case err != nil:
			return nil, err
		}
		if keep == nil || keep(r) {
			out = append(out, r)
		}
	}
	if len(gone) > 0 {
		_ = s.o.Store.RemoveFromIndex(context.WithoutCancel(ctx), kind, id, gone...)
	}
	slices.SortFunc(out, func(a, b *AccessRequest) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return s.capList(out), nil
}

// capList keeps the newest ListLimit requests of out (sorted newest first), but never drops one
// that is still open or a grant still in use: a flood of finished requests (an agent requesting
// and withdrawing in a loop) must not push the customer's approved grant out of sight before they
// can revoke it. Open requests are bounded anyway (one pending per agent and target).
func (s *ConsentService) capList(out []*AccessRequest) []*AccessRequest {
	if len(out) <= s.o.ListLimit {
		return out
	}
	now := s.o.Now()
	live := func(r *AccessRequest) bool { return r.Open() || (r.State == ConsentUsed && now.Before(r.ExpiresAt)) }
	finished := s.o.ListLimit
	for _, r := range out {
		if live(r) {
			finished--
		}
	}
	kept := out[:0]
	for _, r := range out {
		switch {
		case live(r):
			kept = append(kept, r)
		case finished > 0:
			finished--
			kept = append(kept, r)
		}
	}
	return kept
}

// ForTarget lists the requests addressed to target, newest first.
func (s *ConsentService) ForTarget(ctx context.Context, target string) ([]*AccessRequest, error) {
	return s.list(ctx, kindConsentTarget, consentTag(target), func(r *AccessRequest) bool { return r.Target == target })
}

// ForAgent lists the requests agent made, newest first.
func (s *ConsentService) ForAgent(ctx context.Context, agent string) ([]*AccessRequest, error) {
	return s.list(ctx, kindConsentAgent, consentTag(agent), func(r *AccessRequest) bool { return r.Agent == agent })
}

// Sweep expires every overdue request (so that consent.expired is recorded even for requests
// nobody looks at again) and returns how many it expired. Run it periodically ([ConsentService.Run]);
// concurrent sweeps on several replicas expire each request once.
func (s *ConsentService) Sweep(ctx context.Context) (int, error) {
	ids, err := s.o.Store.IndexMembers(ctx, kindConsentOpen, consentOpenID)
	if err != nil {
		return 0, fmt.Errorf("exchange: sweep access requests: %w", err)
	}
	n := 0
	var done []string
	for _, id := range ids {
		var r AccessRequest
		err := s.o.Store.GetRecord(ctx, kindConsent, id, &r)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			done = append(done, id)
			continue
		case err != nil:
			return n, fmt.Errorf("exchange: sweep access requests: %w", err)
		}
		if r.overdue(s.o.Now()) {
			_, changed, err := s.expire(ctx, id)
			if err != nil {
				return n, err
			}
			if changed {
				n++
			}
			continue
		}
		if !r.Open() {
			done = append(done, id)
		}
	}
	if len(done) > 0 {
		if err := s.o.Store.RemoveFromIndex(ctx, kindConsentOpen, consentOpenID, done...); err != nil {
			return n, fmt.Errorf("exchange: sweep access requests: %w", err)
		}
	}
	return n, nil
}

// Run sweeps every interval until ctx ends; errors are logged.
func (s *ConsentService) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.o.Logger.WarnContext(ctx, "consent: sweep failed", "err", err)
			}
		}
	}
}

// audit records a consent event; a failure is logged (the transition has happened).
func (s *ConsentService) audit(ctx context.Context, typ string, r *AccessRequest, by string) {
	if err := s.record(ctx, typ, r, by); err != nil {
		s.o.Logger.ErrorContext(ctx, "consent: audit failed", "type", typ, "consent_id", r.ID, "err", err)
	}
}

// record records a consent event and returns the audit trail's error.
func (s *ConsentService) record(ctx context.Context, typ string, r *AccessRequest, by string) error {
	e := Event{Type: typ, Time: s.o.Now().UTC(), Form: FormImpersonation, Actor: by, Target: r.Target,
		ClientID: r.ClientID, Reason: r.Reason, Ticket: r.Ticket, ConsentID: r.ID,
		RepresentationID: r.RepresentationID, RequestID: logging.RequestID(ctx)}
	if ip := ClientIP(ctx); ip.IsValid() {
		e.SourceIP = ip.String()
	}
	switch typ {
	case EventConsentApproved:
		e.Decision = "allow"
	case EventConsentDeclined:
		e.Decision = "deny"
	}
	if err := s.o.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		return err
	}
	s.o.Logger.InfoContext(ctx, "consent "+strings.TrimPrefix(typ, "consent."), "consent_id", r.ID,
		"agent", r.Agent, "target", r.Target, "by", by, "state", r.State)
	return nil
}
