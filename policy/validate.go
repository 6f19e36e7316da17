package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// validator collects every problem found in a Rules value.
type validator struct{ errs []error }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Key: "policy." + key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// names checks a list of plain names (non-empty, no surrounding or inner spaces) and returns the
// set of them.
func (v *validator) names(key string, items []string) set {
	for i, it := range items {
		if !validName(it) {
			v.add(fmt.Sprintf("%s[%d]", key, i), "invalid name %q", it)
		}
	}
	return newSet(items)
}

// knownRoles checks that every item is a ranked role and returns the set of them.
func (v *validator) knownRoles(key string, items []string, rank map[string]int) set {
	for i, it := range items {
		if _, ok := rank[it]; !ok {
			v.add(fmt.Sprintf("%s[%d]", key, i), "unknown role %q (not in policy.role_ranks)", it)
		}
	}
	return newSet(items)
}

// duration checks that d is in (0, limit].
func (v *validator) duration(key string, d, limit time.Duration) {
	if d <= 0 || d > limit {
		v.add(key, "must be more than 0 and at most %s, got %s", limit, d)
	}
}

func validName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f
	})
}

func (e *Engine) compileRoles(v *validator, r Rules) {
	if len(r.RoleRanks) == 0 {
		v.add("role_ranks", "must list at least one role")
	}
	e.rank = make(map[string]int, len(r.RoleRanks))
	for i, role := range r.RoleRanks {
		key := fmt.Sprintf("role_ranks[%d]", i)
		switch _, dup := e.rank[role]; {
		case !validName(role):
			v.add(key, "invalid role name %q", role)
		case dup:
			v.add(key, "duplicate role %q", role)
		default:
			e.rank[role] = i
		}
	}
	e.impersonator = v.knownRoles("impersonator_roles", r.ImpersonatorRoles, e.rank)
	e.global = v.knownRoles("global_roles", r.GlobalRoles, e.rank)
	e.breakGlass = v.knownRoles("break_glass_roles", r.BreakGlassRoles, e.rank)
	e.consentRoles = v.knownRoles("consent_required.roles", r.ConsentRequired.Roles, e.rank)
	e.consentTenants = v.names("consent_required.tenants", r.ConsentRequired.Tenants)

	e.matrix = make(map[string]set, len(r.Matrix))
	actors := make([]string, 0, len(r.Matrix))
	for actor := range r.Matrix {
		actors = append(actors, actor)
	}
	slices.Sort(actors) // deterministic error order
	for _, actor := range actors {
		key := "matrix." + actor
		if _, ok := e.rank[actor]; !ok {
			v.add(key, "unknown role %q (not in policy.role_ranks)", actor)
		} else if !e.impersonator.has(actor) {
			v.add(key, "role %q is not in policy.impersonator_roles", actor)
		}
		e.matrix[actor] = v.knownRoles(key, r.Matrix[actor], e.rank)
	}
}

func (e *Engine) compileAssurance(v *validator, r Rules) {
	e.mfaMethods = v.names("mfa_methods", r.MFAMethods)
	e.acrRank = make(map[string]int, len(r.ACRLevels))
	for i, acr := range r.ACRLevels {
		if !validName(acr) {
			v.add(fmt.Sprintf("acr_levels[%d]", i), "invalid acr value %q", acr)
			continue
		}
		if _, dup := e.acrRank[acr]; dup {
			v.add(fmt.Sprintf("acr_levels[%d]", i), "duplicate acr value %q", acr)
			continue
		}
		e.acrRank[acr] = i
	}
	if r.MinACR != "" {
		if len(r.ACRLevels) == 0 {
			e.acrRank[r.MinACR] = 0 // only an exact match counts
		}
		if lvl, ok := e.acrRank[r.MinACR]; ok {
			e.minACR = lvl
		} else {
			v.add("min_acr", "%q is not in policy.acr_levels", r.MinACR)
		}
	}
	if r.RequireMFA && len(r.MFAMethods) == 0 && r.MinACR == "" {
		v.add("mfa_methods", "require_mfa needs at least one method or policy.min_acr")
	}
	v.duration("max_actor_auth_age", r.MaxActorAuthAge, maxAuthAgeLimit)
}

func (e *Engine) compilePurpose(v *validator, r Rules) {
	if r.MinReasonLength < 0 {
		v.add("min_reason_length", "must not be negative, got %d", r.MinReasonLength)
	}
	if e.minReason < 1 {
		e.minReason = 1 // a required reason, or a break-glass reason, is never empty
	}
	if r.MaxReasonLength < e.minReason || r.MaxReasonLength > maxReasonLimit {
		v.add("max_reason_length", "must be at least min_reason_length (%d) and at most %d, got %d",
			e.minReason, maxReasonLimit, r.MaxReasonLength)
	}
	if r.TicketPattern != "" {
		re, err := regexp.Compile(`^(?:` + r.TicketPattern + `)$`)
		if err != nil {
			v.add("ticket_pattern", "invalid regular expression: %v", err)
		}
		e.ticket = re
	}
}

func (e *Engine) compileRequest(v *validator, r Rules) {
	for i, n := range r.AllowedNetworks {
		key := fmt.Sprintf("allowed_networks[%d]", i)
		p, err := parsePrefix(n)
		if err != nil {
			v.add(key, "invalid CIDR %q: %v", n, err)
			continue
		}
		e.networks = append(e.networks, p)
		e.networkDetails = append(e.networkDetails, "the source address is within "+p.String())
	}
	e.clients = v.names("allowed_clients", r.AllowedClients)
	e.anyClient = e.clients.has("*")
	e.audiences = v.names("allowed_audiences", r.AllowedAudiences)
	e.anyAudience = e.audiences.has("*")
	e.allowedScopes = compileScopes(v, "allowed_scopes", r.AllowedScopes)
	e.deniedScopes = compileScopes(v, "denied_scopes", r.DeniedScopes)
}

func (e *Engine) compileLifetimes(v *validator, r Rules) {
	v.duration("access_token_ttl", r.AccessTokenTTL, maxAccessTTL)
	v.duration("session_ttl", r.SessionTTL, maxSessionTTL)
}

// parsePrefix accepts a CIDR prefix or a single address (a /32 or /128), IPv4-mapped IPv6
// prefixes reduced to IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zones are not allowed")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
