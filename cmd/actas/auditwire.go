package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
	"github.com/actas-dev/actas/internal/httpx"
	"github.com/actas-dev/actas/internal/logging"
	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// newTrail builds the audit trail on the storage backend's stream primitive.
func newTrail(cfg *config.Config, kv storage.KV, log *slog.Logger, m *httpx.Metrics) (*audit.Trail, error) {
	streams, ok := kv.(storage.Streams)
	if !ok {
		return nil, fmt.Errorf("audit: the %s storage backend has no streams", cfg.Storage.Backend)
	}
	o := auditOptions(cfg)
	// The log is one of the trail's two sinks, always on: its INFO lines are written even when
	// log.level is warn or error (docs/audit.md).
	o.Store, o.Logger, o.RequestID, o.Registerer = streams, logging.Floor(log, slog.LevelInfo), logging.RequestID, m.Registry()
	t, err := audit.New(o)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return t, nil
}

// recordConfigLoaded writes config.loaded with a hash of the policy in force.
func recordConfigLoaded(ctx context.Context, t *audit.Trail, cfg *config.Config) error {
	b, _ := json.Marshal(cfg.Policy)
	sum := sha256.Sum256(b)
	return t.Record(ctx, audit.Event{Type: audit.TypeConfigLoaded, Detail: map[string]string{
		"policy_sha256": hex.EncodeToString(sum[:]), "version": version, "storage": cfg.Storage.Backend,
		"impersonation_enabled": fmt.Sprint(cfg.Policy.Enabled)}})
}

// auditAuth adapts the provider's API authentication to the audit endpoint's interface (audit
// cannot import oauth).
type auditAuth struct{ p *oauth.Provider }

func (a auditAuth) Authenticate(r *http.Request, scopes ...string) (*audit.Principal, error) {
	pr, aerr := a.p.Authenticate(r, scopes...)
	if aerr != nil {
		return nil, aerr // never a typed nil
	}
	var roles []string
	if pr.User != nil {
		roles = pr.User.Roles
	}
	return &audit.Principal{Subject: pr.Subject, Roles: roles}, nil
}

// exchangeAudit writes the exchange's events to the trail. A grant's event is part of the grant:
// its error fails the grant (which then undoes what it wrote). Denials and dry runs are written
// best effort: a lost one is counted and logged, never fails the caller.
type exchangeAudit struct{ t *audit.Trail }

var _ exchange.AuditQueuer = exchangeAudit{}

func (a exchangeAudit) Record(ctx context.Context, e exchange.Event) error {
	ae, bestEffort := toAuditEvent(e)
	if bestEffort {
		a.t.RecordBestEffort(ctx, ae)
		return nil
	}
	return recordError(a.t.Record(ctx, ae))
}

// Queue puts e in line on the trail now (audit.Trail.Enqueue) and returns the wait. A best-effort
// event (a denial, a dry run) is recorded before Queue returns, which keeps the same order.
func (a exchangeAudit) Queue(ctx context.Context, e exchange.Event) func() error {
	ae, bestEffort := toAuditEvent(e)
	if bestEffort {
		a.t.RecordBestEffort(ctx, ae)
		return func() error { return nil }
	}
	wait := a.t.Enqueue(ctx, ae)
	return func() error {
		_, err := wait()
		return recordError(err)
	}
}

// recordError maps the trail's error for the exchange: a refused event is a server error, any
// other failure means the durable store could not take it (fail closed with a 503).
func recordError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, audit.ErrInvalidEvent) || errors.Is(err, audit.ErrSecret):
		return fmt.Errorf("audit: the event was refused: %w", err)
	}
	return fmt.Errorf("audit: %w", errors.Join(err, storage.ErrUnavailable))
}

// toAuditEvent converts an exchange event; bestEffort reports the events whose loss must not fail
// the caller (denials, dry runs).
func toAuditEvent(e exchange.Event) (ae audit.Event, bestEffort bool) {
	ae = audit.Event{Time: e.Time, Type: e.Type, Actor: e.Actor, Target: e.Target, Client: e.ClientID,
		RepresentationID: e.RepresentationID, ConsentID: e.ConsentID, Decision: e.Decision, Rule: e.Rule, ReasonCode: e.ReasonCode,
		ReasonText: e.Reason, Ticket: e.Ticket, SourceAddress: e.SourceIP, RequestID: e.RequestID,
		Detail: map[string]string{}}
	set := func(k, v string) {
		if v != "" {
			ae.Detail[k] = v
		}
	}
	set("form", e.Form)
	set("actor_issuer", e.ActorIssuer)
	set("error", e.Error)
	set("grant_id", e.GrantID)
	set("scope", strings.Join(e.Scopes, " "))
	set("audience", strings.Join(e.Audiences, " "))
	if e.Joined {
		ae.Detail["joined"] = "true"
	}
	if e.BreakGlass {
		ae.Detail["break_glass"] = "true"
	}
	for k, v := range e.Detail {
		set(k, v)
	}
	if len(ae.Detail) == 0 {
		ae.Detail = nil
	}
	return ae, e.Decision == "deny" || e.Type == exchange.EventPolicyDryRun || e.Type == exchange.EventDenied
}
