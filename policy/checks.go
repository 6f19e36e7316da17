package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The built-in rules. Each returns its outcome without the rule name (decide sets it). Details are
// sentences for humans. Names validated by New (roles, methods, tenants of the rules) appear as
// they are; other request values are quoted and truncated by short; the reason and the ticket
// never appear.

func pass(detail string) RuleOutcome { return RuleOutcome{Passed: true, Detail: detail} }

func deny(code ReasonCode, detail string) RuleOutcome {
	return RuleOutcome{Code: code, Detail: detail}
}

func (e *Engine) checkEnabled(*evalState) RuleOutcome {
	if !e.enabled {
		return deny(CodeImpersonationDisabled, "impersonation is disabled (policy.enabled)")
	}
	return pass("impersonation is enabled")
}

func (e *Engine) checkAttributes(s *evalState) RuleOutcome {
	var missing []string
	if s.in.Now.IsZero() {
		missing = append(missing, "decision time")
	}
	if s.in.Actor.ID == "" {
		missing = append(missing, "actor id")
	}
	if s.in.Target.ID == "" {
		missing = append(missing, "target id")
	}
	if len(s.in.Target.Roles) == 0 {
		missing = append(missing, "target roles")
	}
	if len(missing) > 0 {
		return deny(CodeMissingAttribute, "missing: "+strings.Join(missing, ", "))
	}
	return pass("all required attributes are present")
}

func (e *Engine) checkAccountStatus(s *evalState) RuleOutcome {
	switch {
	case s.in.Actor.Disabled:
		return deny(CodeAccountDisabled, "the actor's account is disabled")
	case s.in.Target.Disabled:
		return deny(CodeAccountDisabled, "the target's account is disabled")
	}
	return pass("both accounts are active")
}

func (e *Engine) checkSelf(s *evalState) RuleOutcome {
	if s.in.Actor.ID == s.in.Target.ID {
		return deny(CodeSelfImpersonation, "a user may not impersonate themself")
	}
	return pass("actor and target differ")
}

func (e *Engine) checkNested(s *evalState) RuleOutcome {
	switch {
	case s.in.ActorTokenHasAct:
		return deny(CodeNestedImpersonation,
			"the actor token already carries act: impersonation cannot be nested")
	case s.in.ActorIsRepresented:
		return deny(CodeNestedImpersonation,
			"the actor is being represented by someone else: impersonation cannot be nested")
	}
	return pass("not nested")
}

func (e *Engine) checkClient(s *evalState) RuleOutcome {
	id := s.in.ClientID
	switch {
	case id == "":
		return deny(CodeMissingAttribute, "the client is unknown")
	case e.clients.has(id):
		return pass("the client may request impersonation")
	case e.anyClient:
		return pass("any client may request impersonation")
	}
	return deny(CodeClientNotAllowed,
		"client "+short(id)+" may not request impersonation (policy.allowed_clients)")
}

func (e *Engine) checkImpersonator(s *evalState) RuleOutcome {
	for _, r := range s.in.Actor.Roles {
		if e.impersonator.has(r) {
			return pass("the actor holds the impersonator role " + r)
		}
	}
	return deny(CodeNotImpersonator, "the actor holds no impersonator role (policy.impersonator_roles)")
}

// allowingRole returns an actor role (restricted to only, when not nil) whose matrix row lists
// the target role.
func (e *Engine) allowingRole(actorRoles []string, target string, only set) (string, bool) {
	for _, r := range actorRoles {
		if only != nil && !only.has(r) {
			continue
		}
		if row, ok := e.matrix[r]; ok && row.has(target) {
			return r, true
		}
	}
	return "", false
}

func (e *Engine) checkMatrix(s *evalState) RuleOutcome {
	switch {
	case len(s.in.Target.Roles) == 0:
		return deny(CodeMissingAttribute, "the target has no role to judge")
	case s.hasUnknown:
		return deny(CodeUnknownRole, "the target holds the role "+short(s.unknownRole)+
			", which policy.role_ranks does not rank")
	}
	if r, ok := e.allowingRole(s.in.Actor.Roles, s.targetRole, nil); ok {
		return pass(r + " may impersonate " + s.targetRole)
	}
	return deny(CodeRoleNotAllowed, "no role of the actor may impersonate a target whose highest role is "+
		s.targetRole+" (policy.matrix)")
}

func (e *Engine) checkTenancy(s *evalState) RuleOutcome {
	if s.in.Actor.Tenant == s.in.Target.Tenant {
		return pass("actor and target are in the same tenant")
	}
	if !s.hasUnknown && s.targetRole != "" {
		if r, ok := e.allowingRole(s.in.Actor.Roles, s.targetRole, e.global); ok {
			return pass("cross-tenant impersonation allowed by the global role " + r)
		}
	}
	return deny(CodeCrossTenant,
		"the target is in another tenant and no global role of the actor allows it (policy.global_roles)")
}

func (e *Engine) checkOptOut(s *evalState) RuleOutcome {
	switch {
	case !e.honourOptOut:
		return pass("opt-outs are not honoured (policy.honour_opt_out)")
	case s.in.Target.ImpersonationAllowed:
		return pass("the target allows impersonation")
	}
	glass := ""
	for _, r := range s.in.Actor.Roles {
		if e.breakGlass.has(r) {
			glass = r
			break
		}
	}
	switch {
	case glass == "":
		return deny(CodeTargetOptedOut, "the target has opted out of impersonation")
	case s.precheck && !s.in.PurposeFixed:
		s.breakGlass = true
		return pass("the target opted out; the break-glass role " + glass +
			" may override it with a reason")
	case e.reasonProblem(s.in.Reason, true) != CodeNone:
		return deny(CodeTargetOptedOut, fmt.Sprintf(
			"the target has opted out; a break-glass override needs a reason of at least %d characters",
			e.minReason))
	}
	s.breakGlass = true
	return pass("the target opted out; overridden by the break-glass role " + glass + " (audited)")
}

func (e *Engine) checkMFA(s *evalState) RuleOutcome {
	if !e.requireMFA {
		return pass("a second factor is not required (policy.require_mfa)")
	}
	for _, m := range s.in.Actor.AMR {
		if e.mfaMethods.has(m) {
			return pass("the actor used a second factor (amr " + m + ")")
		}
	}
	if e.minACR >= 0 {
		if lvl, ok := e.acrRank[s.in.Actor.ACR]; ok && lvl >= e.minACR {
			return pass("the actor's acr meets policy.min_acr")
		}
	}
	return deny(CodeMFARequired, "step-up required: the actor must authenticate with a second factor")
}

func (e *Engine) checkAuthAge(s *evalState) RuleOutcome {
	at, now := s.in.Actor.AuthTime, s.in.Now
	switch {
	case at.IsZero():
		return deny(CodeMissingAttribute, "the actor's auth_time is unknown; re-authentication is needed")
	case now.IsZero():
		return deny(CodeMissingAttribute, "the decision time is unknown")
	}
	age := now.Sub(at)
	switch {
	case age < -authTimeSkew:
		return deny(CodeStaleAuthentication, "the actor's auth_time is in the future; re-authentication is needed")
	case age > e.maxAuthAge:
		return deny(CodeStaleAuthentication, fmt.Sprintf(
			"step-up required: the actor authenticated %s ago, more than the %s allowed (policy.max_actor_auth_age)",
			age.Round(time.Second), e.maxAuthAge))
	}
	return pass("the actor authenticated recently enough")
}

func (e *Engine) checkNetwork(s *evalState) RuleOutcome {
	if len(e.networks) == 0 {
		return pass("any network is allowed")
	}
	ip := s.in.SourceIP
	if !ip.IsValid() {
		return deny(CodeMissingAttribute, "the request's source address is unknown")
	}
	ip = ip.Unmap().WithZone("")
	for i, p := range e.networks {
		if p.Contains(ip) {
			return pass(e.networkDetails[i])
		}
	}
	return deny(CodeNetworkNotAllowed, "the source address "+ip.String()+
		" is outside policy.allowed_networks")
}

// reasonProblem checks a reason (its surrounding spaces ignored); needMin demands the minimum
// length. It returns CodeNone when the reason is acceptable.
func (e *Engine) reasonProblem(reason string, needMin bool) ReasonCode {
	r := strings.TrimSpace(reason)
	if badText(r) {
		return CodeReasonInvalid
	}
	switch {
	case utf8.RuneCountInString(r) > e.maxReason:
		return CodeReasonInvalid
	case needMin && visibleLen(r) < e.minReason:
		return CodeReasonRequired
	}
	return CodeNone
}

// visibleLen counts the characters of s that show: spaces, format characters (zero-width space
// and joiners, soft hyphen, byte-order mark…) and the blank "filler" letters are not a reason.
func visibleLen(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
		case r == '\u115f', r == '\u1160', r == '\u3164', r == '\uffa0', r == '\u2800', r == '\u2028', r == '\u2029':
		default:
			n++
		}
	}
	return n
}

func (e *Engine) checkReason(s *evalState) RuleOutcome {
	given := strings.TrimSpace(s.in.Reason) != ""
	if !given && !e.requireReason {
		return pass("no reason given (not required)")
	}
	switch e.reasonProblem(s.in.Reason, e.requireReason) {
	case CodeReasonRequired:
		return deny(CodeReasonRequired, fmt.Sprintf(
			"a reason of at least %d characters is required (policy.require_reason)", e.minReason))
	case CodeReasonInvalid:
		return deny(CodeReasonInvalid, fmt.Sprintf(
			"the reason must be at most %d characters of printable text", e.maxReason))
	}
	return pass("a reason is given")
}

func (e *Engine) checkTicket(s *evalState) RuleOutcome {
	t := s.in.Ticket
	switch {
	case t == "" && e.requireTicket:
		return deny(CodeTicketRequired, "a ticket reference is required (policy.require_ticket)")
	case t == "":
		return pass("no ticket given (not required)")
	case badText(t) || utf8.RuneCountInString(t) > maxTicketLength:
		return deny(CodeTicketInvalid, fmt.Sprintf(
			"the ticket must be at most %d characters of printable text", maxTicketLength))
	case e.ticket != nil && !e.ticket.MatchString(t):
		return deny(CodeTicketInvalid, "the ticket does not match policy.ticket_pattern")
	}
	return pass("a valid ticket is given")
}

func (e *Engine) checkAudiences(s *evalState) RuleOutcome {
	if len(s.in.Audiences) == 0 {
		return deny(CodeMissingAttribute, "the token to issue names no audience")
	}
	for _, a := range s.in.Audiences {
		if a == "" || !(e.anyAudience || e.audiences.has(a)) {
			return deny(CodeAudienceNotAllowed, "the audience "+short(a)+
				" is not allowed for impersonation tokens (policy.allowed_audiences)")
		}
	}
	return pass("every audience is allowed")
}

func (e *Engine) checkScopes(s *evalState) RuleOutcome {
	granted, denied, dropped := e.grantScopes(s.in.RequestedScopes)
	s.granted = granted
	switch {
	case len(denied) > 0:
		return deny(CodeScopeDenied, "blocked for impersonation (policy.denied_scopes): "+shortList(denied))
	case len(granted) == 0 && len(dropped) > 0:
		return deny(CodeScopeNotAllowed, "no requested scope is allowed (policy.allowed_scopes)")
	case len(dropped) > 0:
		return pass(fmt.Sprintf("%d scope(s) granted; dropped (policy.allowed_scopes): %s",
			len(granted), shortList(dropped)))
	}
	return pass(strconv.Itoa(len(granted)) + " scope(s) granted")
}

func (e *Engine) checkConsent(s *evalState) RuleOutcome {
	for _, r := range s.in.Target.Roles {
		if e.consentRoles.has(r) {
			s.consent = true
			return pass("the target's consent is required (role " + r + ")")
		}
	}
	if s.in.Target.Tenant != "" && e.consentTenants.has(s.in.Target.Tenant) {
		s.consent = true
		return pass("the target's consent is required (tenant " + s.in.Target.Tenant + ")")
	}
	return pass("the target's consent is not required")
}

// badText reports invalid UTF-8, control characters and bidirectional controls (which could
// disguise text in audit views).
func badText(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return true
		}
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return false
	}
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	})
}

// short quotes a request value for a detail, truncated to a few dozen characters.
func short(s string) string {
	if utf8.RuneCountInString(s) > detailValueLength {
		runes := []rune(s)
		s = string(runes[:detailValueLength]) + "…"
	}
	return strconv.Quote(s)
}

func shortList(items []string) string {
	const maxItems = 5
	parts := make([]string, 0, min(len(items), maxItems)+1)
	for i, it := range items {
		if i == maxItems {
			parts = append(parts, fmt.Sprintf("and %d more", len(items)-maxItems))
			break
		}
		parts = append(parts, short(it))
	}
	return strings.Join(parts, ", ")
}
