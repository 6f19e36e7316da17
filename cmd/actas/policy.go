package main

import (
	"slices"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
	"github.com/actas-dev/actas/policy"
)

// buildPolicy hands the policy section to the engine, which validates it (errors name the key).
// actas's own issuer is always an allowed audience: an impersonation token without an explicit
// audience is for actas's userinfo, and actas's API refuses every token that carries act.
func buildPolicy(c config.Policy, issuer string) (*policy.Engine, error) {
	if len(c.AllowedAudiences) > 0 && !slices.Contains(c.AllowedAudiences, "*") && !slices.Contains(c.AllowedAudiences, issuer) {
		c.AllowedAudiences = append(slices.Clone(c.AllowedAudiences), issuer)
	}
	r := policy.Rules{
		Enabled:             c.Enabled,
		RoleRanks:           c.RoleRanks,
		ImpersonatorRoles:   c.ImpersonatorRoles,
		Matrix:              c.Matrix,
		GlobalRoles:         c.GlobalRoles,
		RequireMFA:          c.RequireMFA,
		MFAMethods:          c.MFAMethods,
		MinACR:              c.MinACR,
		ACRLevels:           c.ACRLevels,
		MaxActorAuthAge:     c.MaxActorAuthAge,
		HonourOptOut:        c.HonourOptOut,
		BreakGlassRoles:     c.BreakGlassRoles,
		RequireReason:       c.RequireReason,
		MinReasonLength:     c.MinReasonLength,
		MaxReasonLength:     c.MaxReasonLength,
		RequireTicket:       c.RequireTicket,
		TicketPattern:       c.TicketPattern,
		AllowedNetworks:     c.AllowedNetworks,
		AllowedClients:      c.AllowedClients,
		AllowedAudiences:    c.AllowedAudiences,
		ConsentRequired:     policy.ConsentRules{Roles: c.ConsentRequired.Roles, Tenants: c.ConsentRequired.Tenants},
		AccessTokenTTL:      c.AccessTokenTTL,
		SessionTTL:          c.SessionTTL,
		AllowedScopes:       c.AllowedScopes,
		DeniedScopes:        c.DeniedScopes,
		CustomRuleCostLimit: uint64(max(c.CustomRuleCostLimit, 0)),
	}
	for _, cr := range c.CustomRules {
		r.CustomRules = append(r.CustomRules, policy.CELRule{Name: cr.Name, Expression: cr.Expression, Reason: cr.Reason})
	}
	return policy.New(r)
}

// trustedIssuers hands exchange.trusted_issuers to the grant (which validates them further).
func trustedIssuers(list []config.TrustedIssuer) []exchange.TrustedIssuer {
	var out []exchange.TrustedIssuer
	for _, t := range list {
		out = append(out, exchange.TrustedIssuer{Issuer: t.Issuer, JWKSURL: t.JWKSURL, Algorithms: t.Algorithms,
			Audience: t.Audience, ClockSkew: t.ClockSkew, AccessTokenTypes: t.AccessTokenTypes, Clients: t.Clients,
			Claims: exchange.ClaimMapping{Roles: t.Claims.Roles, Tenant: t.Claims.Tenant, AMR: t.Claims.AMR,
				ACR: t.Claims.ACR, AuthTime: t.Claims.AuthTime},
			CacheTTL: t.CacheTTL, RefreshInterval: t.RefreshInterval})
	}
	return out
}
