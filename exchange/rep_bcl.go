package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/storage"
)

// OpenID Connect Back-Channel Logout 1.0 (§2.4, §2.5).
const (
	// BackchannelLogoutEvent is the member of a logout token's `events` claim.
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// LogoutTokenType is the JWT header `typ` of a logout token (§2.4, RFC 8725 §3.11), so that it
	// can never be taken for an ID token or an access token.
	LogoutTokenType = "logout+jwt"
	// LogoutTokenLifetime is the `exp` of a logout token after its `iat`: short, since it is used
	// at once (§2.4 recommends at most two minutes).
	LogoutTokenLifetime = 2 * time.Minute
)

// logoutToken signs the logout token of session sid for clientID (Back-Channel Logout 1.0 §2.4):
// iss, aud = the client, iat, exp, a fresh jti, events with the back-channel logout event, and
// sid = the representation session id, which the tokens issued under it carry, or a login
// session's sid, which its ID tokens carry. It has no `sub`: a `sub` would tell the relying party
// to end every session of the user, including (for a representation) the customer's own and (for
// a login session) those of their other browsers. It carries no nonce (§2.4 forbids it).
func (s *Service) logoutToken(ctx context.Context, clientID, sid string) (string, error) {
	if s.o.LogoutSigner == nil {
		return "", errors.New("exchange: no logout token signer")
	}
	now := s.o.Now()
	claims := jwt.MapClaims{
		"iss":    s.o.Issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(LogoutTokenLifetime).Unix(),
		"jti":    uuid.NewString(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
		"sid":    sid,
	}
	tok, _, err := s.o.LogoutSigner.Generate(ctx, claims, &jwt.Headers{Extra: map[string]any{"typ": LogoutTokenType}})
	if err != nil {
		return "", fmt.Errorf("exchange: sign logout token: %w", err)
	}
	return tok, nil
}

// sendLogout starts, in the background, one back-channel logout per client of the session that
// registered a backchannel_logout_uri. It never blocks the caller.
func (s *Service) sendLogout(rec *RepSession) {
	if s.o.LogoutSigner == nil {
		return
	}
	clients := slices.Compact(slices.Sorted(slices.Values(append([]string{rec.ClientID}, rec.Clients...))))
	a := repTag(rec.ActorIssuer, rec.Actor)
	for _, c := range clients {
		if c == "" {
			continue
		}
		s.deliverLater(c, func(ctx context.Context) { s.logoutClient(ctx, a, rec.ID, c) })
	}
}

// logoutClient delivers the logout token of session id to client c and records the outcome in
// the session.
func (s *Service) logoutClient(ctx context.Context, a, id, c string) {
	if d, sent := s.notify(ctx, c, id, "representation_id"); sent {
		s.recordDelivery(ctx, a, id, d)
	}
}

// notify sends the logout token of session sid to client c, when c registered a
// backchannel_logout_uri, and logs the outcome with sid under key (the kind of session). sent is
// false when there was nothing to send (an unknown client, or one without the URI).
func (s *Service) notify(ctx context.Context, c, sid, key string) (d LogoutDelivery, sent bool) {
	d.ClientID = c
	fc, err := s.o.Store.GetClient(ctx, c)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return d, false
		}
		s.o.Logger.WarnContext(ctx, "back-channel logout: client lookup failed", "client_id", c, key, sid, "err", err)
		d.Error = "client lookup failed"
		return d, true
	}
	sc, ok := fc.(*storage.Client)
	if !ok || sc.BackchannelLogoutURI == "" {
		return d, false
	}
	tok, err := s.logoutToken(ctx, c, sid)
	if err != nil {
		s.o.Logger.ErrorContext(ctx, "back-channel logout: no token", "client_id", c, key, sid, "err", err)
		d.Error = "the logout token could not be signed"
		return d, true
	}
	d = s.deliver(ctx, sc.BackchannelLogoutURI, tok)
	d.ClientID = c
	if d.Delivered {
		s.o.Logger.InfoContext(ctx, "back-channel logout delivered", "client_id", c, key, sid, "attempts", d.Attempts)
	} else {
		s.o.Logger.WarnContext(ctx, "back-channel logout failed", "client_id", c, key, sid,
			"attempts", d.Attempts, "status", d.Status, "err", d.Error)
	}
	return d, true
}

// loginClients is implemented by a [LoginSessions] that records the clients that received an
// authorization response under each login session (*login.Service).
type loginClients interface {
	TakeClients(ctx context.Context, sessionID string) ([]storage.LoginClient, error)
}

// logoutLogin starts, in the background, the back-channel logout of the user's login session
// sessionID to every client that received an authorization response under it and registered a
// backchannel_logout_uri. The logout token's sid is the one recorded with the client: the `sid` of
// the ID tokens it got (login.SIDOf). Like a representation's, it has no sub, so that a relying
// party ends only the sessions of this login, not every session of the user.
func (s *Service) logoutLogin(ctx context.Context, subject, sessionID string) {
	lc, ok := s.o.LoginSessions.(loginClients)
	if !ok || s.o.LogoutSigner == nil || sessionID == "" {
		return
	}
	clients, err := lc.TakeClients(ctx, sessionID)
	if err != nil {
		s.o.Logger.ErrorContext(ctx, "back-channel logout: the clients of the ended login session could not be read; none is told",
			"user_id", subject, "err", err)
		return
	}
	for _, c := range clients { // distinct: a set
		s.deliverLater(c.ClientID, func(ctx context.Context) { s.notify(ctx, c.ClientID, c.SID, "login_sid") })
	}
}

// deliver POSTs logout_token to uri (§2.5), retrying transport errors, timeouts, 5xx, 408, 425
// and 429 with exponential backoff, at most BackchannelAttempts times; another 4xx is final (the
// relying party refused the token).
func (s *Service) deliver(ctx context.Context, uri, tok string) LogoutDelivery {
	wait := s.o.BackchannelBackoff
	var d LogoutDelivery
	for {
		d.Attempts++
		status, err := s.post(ctx, uri, tok)
		d.Status, d.At = status, s.o.Now().UTC()
		if err == nil {
			d.Delivered, d.Error = true, ""
			return d
		}
		d.Error = err.Error()
		if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429) || d.Attempts >= s.o.BackchannelAttempts {
			return d
		}
		t := time.NewTimer(wait + time.Duration(repRandom(1)[0])*wait/512)
		select {
		case <-ctx.Done():
			t.Stop()
			d.Error = "cancelled: " + d.Error
			return d
		case <-t.C:
		}
		wait *= 2
	}
}

// post makes one delivery attempt; any 2xx is success (§2.8 says 200, and some frameworks
// answer 204).
func (s *Service) post(ctx context.Context, uri, tok string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.BackchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return 0, fmt.Errorf("bad back-channel logout URI: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry credentials in its query
		}
		return 0, fmt.Errorf("delivery failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("the relying party answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// recordDelivery appends a delivery outcome to the session record (best effort).
func (s *Service) recordDelivery(ctx context.Context, a, id string, d LogoutDelivery) {
	if d.At.IsZero() {
		d.At = s.o.Now().UTC()
	}
	_, _, err := s.update(ctx, a, id, func(r *RepSession) error {
		r.Logout = append(r.Logout, d)
		return nil
	})
	if err != nil {
		s.o.Logger.WarnContext(ctx, "back-channel logout: record outcome", "representation_id", id, "err", err)
	}
}
