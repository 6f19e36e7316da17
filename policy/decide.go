package policy

import (
	"context"
	"fmt"
)

// ruleID identifies a built-in rule; dispatch is a switch (not a table of funcs) so that the
// per-decision state stays on the stack.
type ruleID uint8

const (
	idEnabled ruleID = iota
	idAttributes
	idAccountStatus
	idSelf
	idNested
	idClients
	idImpersonator
	idMatrix
	idTenancy
	idOptOut
	idMFA
	idAuthAge
	idNetwork
	idReason
	idTicket
	idAudiences
	idScopes
	idConsent
)

// builtinRule is one built-in rule in evaluation order.
type builtinRule struct {
	id   ruleID
	name string
	// requestBound rules depend on a concrete exchange request; Representable skips them.
	requestBound bool
}

// builtins is the single source of the evaluation order ([RuleOrder]).
var builtins = [...]builtinRule{
	{idEnabled, RuleEnabled, false},
	{idAttributes, RuleAttributes, false},
	{idAccountStatus, RuleAccountStatus, false},
	{idSelf, RuleSelf, false},
	{idNested, RuleNested, false},
	{idClients, RuleClients, true},
	{idImpersonator, RuleImpersonatorRoles, false},
	{idMatrix, RuleMatrix, false},
	{idTenancy, RuleTenancy, false},
	{idOptOut, RuleOptOut, false},
	{idMFA, RuleMFA, false},
	{idAuthAge, RuleAuthAge, false},
	{idNetwork, RuleNetwork, false},
	{idReason, RuleReason, true},
	{idTicket, RuleTicket, true},
	{idAudiences, RuleAudiences, true},
	{idScopes, RuleScopes, true},
	{idConsent, RuleConsent, false},
}

// check runs one built-in rule.
func (e *Engine) check(id ruleID, s *evalState) RuleOutcome {
	switch id {
	case idEnabled:
		return e.checkEnabled(s)
	case idAttributes:
		return e.checkAttributes(s)
	case idAccountStatus:
		return e.checkAccountStatus(s)
	case idSelf:
		return e.checkSelf(s)
	case idNested:
		return e.checkNested(s)
	case idClients:
		return e.checkClient(s)
	case idImpersonator:
		return e.checkImpersonator(s)
	case idMatrix:
		return e.checkMatrix(s)
	case idTenancy:
		return e.checkTenancy(s)
	case idOptOut:
		return e.checkOptOut(s)
	case idMFA:
		return e.checkMFA(s)
	case idAuthAge:
		return e.checkAuthAge(s)
	case idNetwork:
		return e.checkNetwork(s)
	case idReason:
		return e.checkReason(s)
	case idTicket:
		return e.checkTicket(s)
	case idAudiences:
		return e.checkAudiences(s)
	case idScopes:
		return e.checkScopes(s)
	case idConsent:
		return e.checkConsent(s)
	}
	return deny(CodeMissingAttribute, "unknown rule") // unreachable: fail closed
}

// evalState is what the rules of one decision share.
type evalState struct {
	in       Input
	precheck bool

	targetRole  string // the target's highest-ranked role; "" if it has none
	unknownRole string // the first target role not ranked (may itself be "")
	hasUnknown  bool   // the target holds a role not ranked

	breakGlass bool
	consent    bool
	granted    []string
}

// Decide evaluates every rule for in and returns the decision. It never reads a clock (in.Now is
// the time), performs no I/O and never panics; ctx bounds the evaluation of custom rules. Every
// rule is evaluated so that Outcomes explain the decision completely; the first failing rule in
// [RuleOrder] (then custom rules in configuration order) is the decision's Rule and Code. Use
// [Decision.Err] to turn a denial into a *[DeniedError].
//
// An allowed decision may still require the target's consent (Decision.ConsentRequired); the
// caller must obtain it before starting the representation and must apply the Obligations.
func (e *Engine) Decide(ctx context.Context, in Input) Decision {
	return e.decide(ctx, in, false)
}

// Representable is the pre-check behind a list of the users an actor may impersonate right now.
// It evaluates in like [Engine.Decide] but skips the rules bound to a concrete exchange request
// (allowed_clients, reason, ticket, allowed_audiences, scopes), which are reported as passed and
// Skipped — except reason and ticket when in.PurposeFixed; a target who opted out counts as representable when the actor holds a break-glass role
// (a reason will be needed). Custom rules are evaluated with request.precheck = true, so a rule
// about the purpose can be written as `request.precheck || <check>`.
//
// The result has Precheck set and only tells whether a later exchange may succeed, and whether
// consent will be needed: it must never authorise an exchange; call Decide for that.
func (e *Engine) Representable(ctx context.Context, in Input) Decision {
	return e.decide(ctx, in, true)
}

func (e *Engine) decide(ctx context.Context, in Input, precheck bool) Decision {
	s := evalState{in: in, precheck: precheck}
	s.judgeTarget(e)

	d := Decision{
		Precheck: precheck,
		Outcomes: make([]RuleOutcome, 0, len(builtins)+len(e.custom)),
	}
	for i := range builtins {
		b := &builtins[i]
		var o RuleOutcome
		if precheck && b.requestBound && !(in.PurposeFixed && (b.id == idReason || b.id == idTicket)) {
			o = RuleOutcome{Passed: true, Skipped: true,
				Detail: "skipped in a pre-check: depends on the exchange request"}
		} else {
			o = e.check(b.id, &s)
		}
		o.Rule = b.name
		d.Outcomes = append(d.Outcomes, o)
	}
	if len(e.custom) > 0 {
		if ctx == nil {
			ctx = context.Background()
		}
		act := e.activation(&s)
		for i := range e.custom {
			d.Outcomes = append(d.Outcomes, e.custom[i].safeEval(ctx, act))
		}
	}
	d.ConsentRequired = s.consent

	for _, o := range d.Outcomes {
		if !o.Passed {
			d.Rule, d.Code, d.Reason = o.Rule, o.Code, o.Detail
			return d
		}
	}
	d.Allowed = true
	d.Obligations = e.obligations(&s)
	d.Reason = allowReason(&s)
	return d
}

// judgeTarget finds the target's highest-ranked role and any role the rules do not rank.
func (s *evalState) judgeTarget(e *Engine) {
	best := -1
	for _, r := range s.in.Target.Roles {
		rk, ok := e.rank[r]
		if !ok {
			if !s.hasUnknown {
				s.unknownRole, s.hasUnknown = r, true
			}
			continue
		}
		if rk > best {
			best, s.targetRole = rk, r
		}
	}
}

// highestRole returns the highest-ranked known role of roles, or "".
func (e *Engine) highestRole(roles []string) string {
	best, role := -1, ""
	for _, r := range roles {
		if rk, ok := e.rank[r]; ok && rk > best {
			best, role = rk, r
		}
	}
	return role
}

func (e *Engine) obligations(s *evalState) Obligations {
	session := e.sessionTTL
	if req := s.in.RequestedSessionTTL; req > 0 && req < session {
		session = req
	}
	return Obligations{
		AccessTokenTTL: min(e.accessTTL, session),
		SessionTTL:     session,
		Scopes:         s.granted,
		BreakGlass:     s.breakGlass,
	}
}

// allowReasons are the reasons of allowed decisions, indexed by precheck, break-glass and
// consent (bits 2, 1, 0); built once so that an allowed decision does not concatenate strings.
var allowReasons = func() (r [8]string) {
	for i := range r {
		s := "impersonation allowed"
		if i&4 != 0 {
			s = "impersonation possible, subject to the exchange request's checks"
		}
		if i&2 != 0 {
			s += "; break-glass override of the target's opt-out (audited)"
		}
		if i&1 != 0 {
			s += "; the target's consent is required"
		}
		r[i] = s
	}
	return r
}()

func allowReason(s *evalState) string {
	i := 0
	if s.precheck {
		i |= 4
	}
	if s.breakGlass {
		i |= 2
	}
	if s.consent {
		i |= 1
	}
	return allowReasons[i]
}

// safeEval evaluates a custom rule and turns a panic inside the CEL runtime into a denial, so that
// Decide never panics.
func (r *customRule) safeEval(ctx context.Context, act *celActivation) (o RuleOutcome) {
	defer func() {
		if p := recover(); p != nil {
			o = RuleOutcome{Rule: r.name, Code: CodeCustomRule,
				Detail: fmt.Sprintf("%s (evaluation failed: %v)", r.reason, p)}
		}
	}()
	return r.eval(ctx, act)
}

// activation builds the CEL variables of one decision.
func (e *Engine) activation(s *evalState) *celActivation {
	in := &s.in
	src := ""
	if in.SourceIP.IsValid() {
		src = in.SourceIP.Unmap().WithZone("").String()
	}
	return &celActivation{
		actor:  e.celSubject(&in.Actor),
		target: e.celSubject(&in.Target),
		request: &celRequest{
			Now:                 in.Now,
			ClientID:            in.ClientID,
			Audiences:           nonNil(in.Audiences),
			Scopes:              nonNil(in.RequestedScopes),
			Reason:              in.Reason,
			Ticket:              in.Ticket,
			SourceIP:            src,
			ActorTokenHasAct:    in.ActorTokenHasAct,
			ActorIsRepresented:  in.ActorIsRepresented,
			RequestedSessionTTL: in.RequestedSessionTTL,
			Precheck:            s.precheck,
			PurposeFixed:        s.precheck && s.in.PurposeFixed,
		},
	}
}

func (e *Engine) celSubject(sub *Subject) *celSubject {
	return &celSubject{
		ID:                   sub.ID,
		Roles:                nonNil(sub.Roles),
		Role:                 e.highestRole(sub.Roles),
		Tenant:               sub.Tenant,
		ImpersonationAllowed: sub.ImpersonationAllowed,
		Disabled:             sub.Disabled,
		AMR:                  nonNil(sub.AMR),
		ACR:                  sub.ACR,
		AuthTime:             sub.AuthTime,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
