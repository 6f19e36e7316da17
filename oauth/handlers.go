package oauth

import (
	"context"

	"github.com/ory/fosite"
)

// grantConfig is the fosite configuration with one change: the token endpoint handlers it hands
// out for a request are only those that handle the request's grant type.
//
// fosite calls every handler's PopulateTokenEndpointResponse and each handler for another grant
// answers fosite.ErrUnknownRequest wrapped with a captured stack trace; with the exchange grant
// last, every token costs five stack captures (about 6% of a client-credentials request). fosite
// puts the access request in the context before asking for the handlers, in NewAccessRequest and
// in NewAccessResponse alike, and filters by CanHandleTokenEndpointRequest itself in the first,
// so the filtered list changes nothing but the cost: a handler that cannot handle a request's
// grant does nothing for it (our handlers and fosite's answer ErrUnknownRequest, PKCE's Populate
// does nothing at all).
type grantConfig struct {
	*fosite.Config
}

func (c grantConfig) GetTokenEndpointHandlers(ctx context.Context) fosite.TokenEndpointHandlers {
	all := c.Config.GetTokenEndpointHandlers(ctx)
	ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester)
	if !ok || ar == nil {
		return all
	}
	out := make(fosite.TokenEndpointHandlers, 0, 3)
	for _, h := range all {
		if h.CanHandleTokenEndpointRequest(ctx, ar) {
			out = append(out, h)
		}
	}
	return out
}
