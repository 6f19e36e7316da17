package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/actas-dev/actas/storage"
)

// HandoffOptions configure [Handoffs]. The zero value gives the defaults.
type HandoffOptions struct {
	// TTL is how long a code may be redeemed; default [DefaultHandoffTTL] (2 minutes), at most
	// [MaxHandoffTTL] (5 minutes). It is also cut to the representation's remaining life.
	TTL time.Duration
	// AccessTokenTTL caps the access tokens a redemption issues (the client's own lifespan and
	// the representation's end cap them too); default [DefaultHandoffAccessTokenTTL]. Set it to
	// the policy's access_token_ttl.
	AccessTokenTTL time.Duration
	// QRModulePixels is the size of one QR module in the PNG; default 8 (a code of ~50 modules
	// with its quiet zone is then about 400 pixels wide), at most 32.
	QRModulePixels int
}

// Handoffs creates hand-off codes for the agents' representations and serves their API
// ([Handoffs.Routes]). Redemption is the representation service's ([Service.RedeemHandoff]), which
// the token-exchange grant finds on its own. Build it with [NewHandoffs]; it is safe for
// concurrent use.
type Handoffs struct {
	s *Service
	o HandoffOptions
}

// NewHandoffs validates o and returns the hand-off service over the representation service s
// (whose storage, clock, audit and authenticator it uses).
func NewHandoffs(s *Service, o HandoffOptions) (*Handoffs, error) {
	switch {
	case s == nil:
		return nil, errors.New("exchange: hand-offs: the representation service is required")
	case o.TTL == 0:
		o.TTL = DefaultHandoffTTL
	case o.TTL < time.Second || o.TTL > MaxHandoffTTL:
		return nil, fmt.Errorf("exchange: hand-offs: ttl %s is not in [1s, %s]", o.TTL, MaxHandoffTTL)
	}
	switch {
	case o.AccessTokenTTL == 0:
		o.AccessTokenTTL = DefaultHandoffAccessTokenTTL
	case o.AccessTokenTTL < time.Second:
		return nil, fmt.Errorf("exchange: hand-offs: access token ttl %s is shorter than a second", o.AccessTokenTTL)
	}
	switch {
	case o.QRModulePixels == 0:
		o.QRModulePixels = 8
	case o.QRModulePixels < 1 || o.QRModulePixels > maxHandoffQRModulePixels:
		return nil, fmt.Errorf("exchange: hand-offs: qr module pixels %d is not in [1, %d]", o.QRModulePixels, maxHandoffQRModulePixels)
	}
	return &Handoffs{s: s, o: o}, nil
}

// HandoffRequest asks for a hand-off of a representation to a client.
type HandoffRequest struct {
	// RepresentationID is the session to hand off; Actor must be its (local) agent.
	RepresentationID string
	Actor            string
	// ClientID is the receiving client: registered with hand-off URIs, public, and allowed the
	// token-exchange grant.
	ClientID string
	// CallerClientID is the client of the agent's token (for the audit event); RequestID and
	// SourceIP correlate the event with the HTTP request.
	CallerClientID string
	RequestID      string
	SourceIP       string
}

// HandoffCreated is a new hand-off, as the API returns it. Code is the secret: it is shown once,
// here, and never stored.
type HandoffCreated struct {
	ID               string       `json:"handoff_id"`
	Code             string       `json:"code"`
	ClientID         string       `json:"client_id"`
	RepresentationID string       `json:"representation_id"`
	ExpiresAt        time.Time    `json:"expires_at"`
	ExpiresIn        int64        `json:"expires_in"`
	Links            HandoffLinks `json:"links"`
	// QR is a PNG of the preferred link (the universal link when there is one, else the deep
	// link) as a data: URL, usable as an <img src> as it is.
	QR string `json:"qr"`
}

// HandoffLinks are the links built from the client's registered hand-off URIs, the code in the
// fragment (`#code=<code>`): the first custom-scheme URI gives DeepLink, the first http(s) URI
// UniversalLink (an iOS universal link or an Android App Link).
type HandoffLinks struct {
	DeepLink      string `json:"deep_link,omitempty"`
	UniversalLink string `json:"universal_link,omitempty"`
}

// Create makes a hand-off of req.RepresentationID for req.ClientID. It fails with
// ErrRepresentationNotFound when the session is unknown or req.Actor is not its agent (the two
// are not told apart), ErrRepresentationEnded when it is no longer active, ErrHandoffTarget when
// the client is not a hand-off target, and a storage error (wrapping storage.ErrUnavailable when
// unreachable). The audit event handoff.created is part of the creation: when it cannot be
// recorded, the hand-off is deleted and the error returned.
func (h *Handoffs) Create(ctx context.Context, req HandoffRequest) (*HandoffCreated, error) {
	s := h.s
	rep, _, _, err := s.load(ctx, req.RepresentationID)
	if err != nil {
		return nil, err
	}
	if req.Actor == "" || rep.Actor != req.Actor || rep.ActorIssuer != "" {
		return nil, ErrRepresentationNotFound
	}
	if err := s.Active(ctx, rep.ID); err != nil {
		return nil, err
	}
	uris, err := h.target(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	ttl := min(h.o.TTL, rep.ExpiresAt.Sub(now)).Truncate(time.Second)
	if ttl < time.Second {
		return nil, fmt.Errorf("%w: it ends now", ErrRepresentationEnded)
	}
	code, parsed := newHandoffCode()
	out := &HandoffCreated{ID: repNewID(), Code: code, ClientID: req.ClientID, RepresentationID: rep.ID,
		ExpiresAt: now.Add(ttl).Truncate(time.Second), ExpiresIn: int64(ttl / time.Second), Links: handoffLinks(uris, code)}
	link := cmpOr(out.Links.UniversalLink, out.Links.DeepLink)
	if out.QR, err = qrDataURL(link, h.o.QRModulePixels); err != nil {
		return nil, err
	}
	rec := &handoffRecord{ID: out.ID, RepresentationID: rep.ID, Actor: rep.Actor, Target: rep.Target,
		ClientID: req.ClientID, CreatedAt: now, ExpiresAt: out.ExpiresAt, AccessTokenTTL: h.o.AccessTokenTTL,
		RequestID: req.RequestID}
	raw, err := encodeHandoff(rec)
	if err != nil {
		return nil, err
	}
	if err := s.kv.Create(ctx, parsed.key(), raw, rec.ttl(now)); err != nil {
		return nil, fmt.Errorf("exchange: create hand-off: %w", err)
	}
	e := Event{Type: EventHandoffCreated, Time: now, Form: FormHandoff, Actor: rep.Actor, Target: rep.Target,
		ClientID: req.CallerClientID, RepresentationID: rep.ID, RequestID: req.RequestID, SourceIP: req.SourceIP,
		Detail: map[string]string{handoffDetailID: out.ID, handoffDetailToClient: req.ClientID,
			handoffDetailExpiresIn: strconv.FormatInt(out.ExpiresIn, 10)}}
	if err := s.o.Audit.Record(ctx, e); err != nil {
		if derr := s.kv.Delete(context.WithoutCancel(ctx), parsed.key()); derr != nil {
			s.o.Logger.ErrorContext(ctx, "hand-off: delete after a failed audit", "handoff_id", out.ID, "err", derr)
		}
		return nil, fmt.Errorf("exchange: hand-off: audit: %w", err)
	}
	s.o.Logger.InfoContext(ctx, "hand-off created", "handoff_id", out.ID, "representation_id", rep.ID,
		"client_id", req.ClientID, "expires_at", out.ExpiresAt)
	return out, nil
}

// target checks that clientID is a hand-off target and returns its hand-off URIs.
func (h *Handoffs) target(ctx context.Context, clientID string) ([]string, error) {
	if clientID == "" || len(clientID) > MaxParamSize {
		return nil, fmt.Errorf("%w: 'client_id' is required", ErrHandoffTarget)
	}
	fc, err := h.s.o.Store.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("%w: unknown client %q", ErrHandoffTarget, clip(clientID))
	case err != nil:
		return nil, fmt.Errorf("exchange: hand-off: load client: %w", err)
	}
	c, ok := fc.(*storage.Client)
	switch {
	case !ok || len(c.HandoffURIs) == 0:
		return nil, fmt.Errorf("%w: the client %q has no registered hand-off URIs", ErrHandoffTarget, clip(clientID))
	case !c.Public:
		return nil, fmt.Errorf("%w: the client %q is not a public client", ErrHandoffTarget, clip(clientID))
	case !slices.Contains(c.GrantTypes, GrantType):
		return nil, fmt.Errorf("%w: the client %q may not use the token-exchange grant", ErrHandoffTarget, clip(clientID))
	}
	var uris []string
	for _, u := range c.HandoffURIs {
		if p, err := url.Parse(u); err == nil && p.Scheme != "" && p.Fragment == "" && !strings.Contains(u, "#") {
			uris = append(uris, u)
		}
	}
	if len(uris) == 0 {
		return nil, fmt.Errorf("%w: the client %q has no usable hand-off URI", ErrHandoffTarget, clip(clientID))
	}
	return uris, nil
}

// handoffLinks puts the code in the fragment of the first custom-scheme URI and of the first
// http(s) URI. The fragment, unlike the query, is never sent to a web server: if the app is not
// installed and a browser opens the universal link, the code stays on the device.
func handoffLinks(uris []string, code string) HandoffLinks {
	var l HandoffLinks
	for _, u := range uris {
		link := u + "#code=" + code
		switch scheme := strings.ToLower(u[:strings.IndexByte(u, ':')]); {
		case scheme == "https" || scheme == "http":
			if l.UniversalLink == "" {
				l.UniversalLink = link
			}
		case l.DeepLink == "":
			l.DeepLink = link
		}
	}
	return l
}
