package exchange

import (
	"context"
	"errors"
	"time"

	"github.com/actas-dev/actas/policy"
)

// minConsentSession is the least time a grant must have left for a representation to start.
const minConsentSession = time.Second

// useConsent finds the target's approval for an impersonation whose policy decision requires
// consent (issue 8), and maps its absence to a denial with reason consent_required whose
// description tells the agent what to do.
func (h *Handler) useConsent(ctx context.Context, st *state, agent, target string) (ConsentGrant, error) {
	req := st.req
	g, err := h.o.Consents.Use(ctx, agent, target, req.Reason, req.Ticket)
	var miss *ConsentMissingError
	switch {
	case err == nil:
	case errors.Is(err, ErrConsentsUnavailable):
		return g, deny(CodeConsentRequired, policy.RuleConsent, "The policy requires the target's consent, and consent requests are not available on this server.")
	case errors.As(err, &miss):
		return g, deny(CodeConsentRequired, policy.RuleConsent, miss.hint())
	case errors.Is(err, ErrNoConsent):
		return g, deny(CodeConsentRequired, policy.RuleConsent, (&ConsentMissingError{}).hint())
	default:
		return g, storageFailure("use consent", err)
	}
	if g.ExpiresAt.Sub(st.now) < minConsentSession {
		h.releaseConsent(ctx, g, "")
		return ConsentGrant{}, deny(CodeConsentRequired, policy.RuleConsent, "The target's consent has expired; request consent again.")
	}
	return g, nil
}

// consentSessionTTL bounds the representation's lifetime by the grant's expiry.
func consentSessionTTL(ttl time.Duration, g ConsentGrant, now time.Time) time.Duration {
	if g.ID == "" {
		return ttl
	}
	return min(ttl, g.ExpiresAt.Sub(now).Truncate(time.Millisecond))
}

// bindConsent ties the grant to the representation that Start opened or joined: a fresh grant
// is attached to it; a grant used before may only join its own representation.
func (h *Handler) bindConsent(ctx context.Context, g ConsentGrant, rep Representation) error {
	switch {
	case g.ID == "":
		return nil
	case !g.Fresh():
		if rep.ID != g.RepresentationID {
			return deny(CodeConsentRequired, policy.RuleConsent, "The target's consent was used for a representation that has ended; request consent again.")
		}
		return nil
	}
	err := h.o.Consents.Attach(ctx, g.ID, rep.ID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConsentConflict), errors.Is(err, ErrConsentNotFound):
		return deny(CodeConsentRequired, policy.RuleConsent, "The target revoked their consent; request consent again.")
	}
	return storageFailure("attach consent", err)
}

// releaseConsent gives a fresh grant back when the exchange failed before any token was issued.
func (h *Handler) releaseConsent(ctx context.Context, g ConsentGrant, repID string) {
	if !g.Fresh() {
		return
	}
	if err := h.o.Consents.Release(context.WithoutCancel(ctx), g.ID, repID); err != nil {
		h.o.Logger.ErrorContext(ctx, "exchange: release consent", "consent_id", g.ID, "err", err)
	}
}
