package exchange

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/actas-dev/actas/oauth"
)

// DefaultMaxActDepth bounds the delegation chain of an issued token when Options.MaxActDepth is 0.
const DefaultMaxActDepth = 4

// maxActDepthLimit is the largest MaxActDepth accepted, and the depth beyond which DecodeAct
// refuses any input.
const maxActDepthLimit = 32

// maxIdentityLen bounds sub and iss inside act and may_act.
const maxIdentityLen = 1024

// Errors of act and may_act decoding.
var (
	ErrMalformedAct = errors.New("exchange: malformed act claim")
	ErrActTooDeep   = errors.New("exchange: act chain too deep")
)

// DecodeAct decodes the value of an RFC 8693 §4.1 `act` claim, as produced by encoding/json into
// an `any` (nested map[string]any), into the typed chain: the outermost actor first, each earlier
// actor in its Act. Each level must be a JSON object with a non-empty string `sub` and, optionally,
// a string `iss`; other members are ignored (§4.1: non-identity claims are not meaningful inside
// act). A nil value is no chain (nil, nil). A chain deeper than maxDepth (at most 32) fails with
// [ErrActTooDeep]; anything else malformed with [ErrMalformedAct].
func DecodeAct(v any, maxDepth int) (*oauth.Actor, error) {
	if maxDepth <= 0 || maxDepth > maxActDepthLimit {
		maxDepth = maxActDepthLimit
	}
	var head *oauth.Actor
	tail := &head
	for depth := 1; v != nil; depth++ {
		if depth > maxDepth {
			return nil, fmt.Errorf("%w: more than %d actors", ErrActTooDeep, maxDepth)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: level %d is not an object", ErrMalformedAct, depth)
		}
		sub, iss, err := identity(m)
		if err != nil {
			return nil, fmt.Errorf("%w: level %d: %w", ErrMalformedAct, depth, err)
		}
		a := &oauth.Actor{Subject: sub, Issuer: iss}
		*tail = a
		tail = &a.Act
		next, has := m["act"]
		if has && next == nil {
			return nil, fmt.Errorf("%w: level %d: act is null", ErrMalformedAct, depth)
		}
		v = next
	}
	return head, nil
}

// identity reads the sub and iss members of an act or may_act object.
func identity(m map[string]any) (sub, iss string, err error) {
	sub, ok := m["sub"].(string)
	if !ok || sub == "" {
		return "", "", errors.New("sub is missing or not a string")
	}
	if len(sub) > maxIdentityLen || !utf8.ValidString(sub) {
		return "", "", errors.New("sub is too long or not UTF-8")
	}
	if raw, has := m["iss"]; has {
		if iss, ok = raw.(string); !ok || iss == "" || len(iss) > maxIdentityLen || !utf8.ValidString(iss) {
			return "", "", errors.New("iss is not a non-empty string")
		}
	}
	return sub, iss, nil
}

// claimMayAct is the name of the RFC 8693 §4.4 claim.
const claimMayAct = "may_act"

// MayAct is the RFC 8693 §4.4 `may_act` claim: the party the subject allows to act for it.
type MayAct struct {
	Subject string
	Issuer  string // empty: any issuer's Subject matches
}

// decodeMayAct decodes a may_act claim value; nil is no claim.
func decodeMayAct(v any) (*MayAct, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: may_act is not an object", ErrMalformedAct)
	}
	sub, iss, err := identity(m)
	if err != nil {
		return nil, fmt.Errorf("%w: may_act: %w", ErrMalformedAct, err)
	}
	return &MayAct{Subject: sub, Issuer: iss}, nil
}

// Allows reports whether the actor (sub as issued by iss) is the party may_act names: the same
// sub, and the same iss when may_act names one.
func (m *MayAct) Allows(sub, iss string) bool {
	return m.Subject == sub && (m.Issuer == "" || m.Issuer == iss)
}

// nestAct returns the chain of a delegation: the new actor outermost, the subject token's chain
// (if any) nested inside it (RFC 8693 §4.1). The actor's Issuer is kept only when it is not
// actas (ours).
func nestAct(actorSub, actorIss, ours string, prior *oauth.Actor) *oauth.Actor {
	a := &oauth.Actor{Subject: actorSub, Act: prior.Clone()}
	if actorIss != ours {
		a.Issuer = actorIss
	}
	return a
}

// withIssuer fills in iss on every level of a foreign chain that lacks it, so that subjects of a
// trusted issuer are not mistaken for actas's own.
func withIssuer(a *oauth.Actor, iss string) *oauth.Actor {
	for x := a; x != nil; x = x.Act {
		if x.Issuer == "" {
			x.Issuer = iss
		}
	}
	return a
}
