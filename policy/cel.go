package policy

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

// The CEL variables are typed objects rather than map(string, dyn), so that the type checker
// rejects a misspelled field (actor.rolez) or a wrong type (target.tenant == 1) when the
// configuration loads instead of denying at run time. Field names are the cel tags.

// celSubject is the CEL view of a [Subject] (variables actor and target).
type celSubject struct {
	ID                   string    `cel:"id"`
	Roles                []string  `cel:"roles"`
	Role                 string    `cel:"role"` // highest-ranked known role, "" if none
	Tenant               string    `cel:"tenant"`
	ImpersonationAllowed bool      `cel:"impersonation_allowed"`
	Disabled             bool      `cel:"disabled"`
	AMR                  []string  `cel:"amr"`
	ACR                  string    `cel:"acr"`
	AuthTime             time.Time `cel:"auth_time"`
}

// celRequest is the CEL view of the rest of an [Input] (variable request).
type celRequest struct {
	Now                 time.Time     `cel:"now"`
	ClientID            string        `cel:"client_id"`
	Audiences           []string      `cel:"audiences"`
	Scopes              []string      `cel:"scopes"`
	Reason              string        `cel:"reason"`
	Ticket              string        `cel:"ticket"`
	SourceIP            string        `cel:"source_ip"` // "" when unknown
	ActorTokenHasAct    bool          `cel:"actor_token_has_act"`
	ActorIsRepresented  bool          `cel:"actor_is_represented"`
	RequestedSessionTTL time.Duration `cel:"requested_session_ttl"`
	Precheck            bool          `cel:"precheck"`      // true in Engine.Representable
	PurposeFixed        bool          `cel:"purpose_fixed"` // a pre-check whose reason and ticket are final (Input.PurposeFixed)
}

var (
	celSubjectType = reflect.TypeOf(celSubject{})
	celRequestType = reflect.TypeOf(celRequest{})
	ruleNameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// customRule is a compiled CEL rule.
type customRule struct {
	name   string // "custom:" + configured name
	reason string
	prg    cel.Program
}

func newCELEnv() (*cel.Env, error) {
	objName := func(t reflect.Type) string { return "policy." + t.Name() }
	return cel.NewEnv(
		ext.NativeTypes(celSubjectType, celRequestType, ext.ParseStructTags(true)),
		cel.Variable("actor", cel.ObjectType(objName(celSubjectType))),
		cel.Variable("target", cel.ObjectType(objName(celSubjectType))),
		cel.Variable("request", cel.ObjectType(objName(celRequestType))),
		ext.Strings(),
		ext.Sets(),
	)
}

func compileCustomRules(v *validator, rules []CELRule, costLimit uint64) []customRule {
	if costLimit < 1 || costLimit > maxCostLimit {
		v.add("custom_rule_cost_limit", "must be between 1 and %d, got %d", maxCostLimit, costLimit)
	}
	if len(rules) == 0 {
		return nil
	}
	env, err := newCELEnv()
	if err != nil { // a programming error, not a configuration one
		v.add("custom_rules", "cannot build the CEL environment: %v", err)
		return nil
	}
	out := make([]customRule, 0, len(rules))
	seen := make(set, len(rules))
	for i, r := range rules {
		key := fmt.Sprintf("custom_rules[%d]", i)
		if !ruleNameRE.MatchString(r.Name) {
			v.add(key+".name", "invalid name %q (lower-case letters, digits, '_' and '-')", r.Name)
		} else if seen.has(r.Name) {
			v.add(key+".name", "duplicate name %q", r.Name)
		}
		seen[r.Name] = struct{}{}
		exprKey := key + ".expression"
		if r.Name != "" {
			exprKey = fmt.Sprintf("custom_rules[%d](%s).expression", i, r.Name)
		}
		ast, iss := env.CompileSource(common.NewStringSource(r.Expression, "policy."+exprKey))
		if iss.Err() != nil {
			v.add(exprKey, "%v", iss.Err())
			continue
		}
		if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
			v.add(exprKey, "must evaluate to bool, not %s", t)
			continue
		}
		prg, err := env.Program(ast,
			cel.CostLimit(costLimit),
			cel.InterruptCheckFrequency(64),
			cel.EvalOptions(cel.OptOptimize),
		)
		if err != nil {
			v.add(exprKey, "%v", err)
			continue
		}
		reason := r.Reason
		if reason == "" {
			reason = "denied by custom rule " + r.Name
		}
		out = append(out, customRule{name: CustomRulePrefix + r.Name, reason: reason, prg: prg})
	}
	return out
}

// celActivation resolves the three variables without building a map per evaluation.
type celActivation struct {
	actor, target *celSubject
	request       *celRequest
}

var _ interpreter.Activation = (*celActivation)(nil)

func (a *celActivation) ResolveName(name string) (any, bool) {
	switch name {
	case "actor":
		return a.actor, true
	case "target":
		return a.target, true
	case "request":
		return a.request, true
	}
	return nil, false
}

func (a *celActivation) Parent() interpreter.Activation { return nil }

// eval runs the rule; anything but a clean true (false, an error, a non-bool, an exceeded cost
// limit, a cancelled context) denies.
func (r *customRule) eval(ctx context.Context, act *celActivation) RuleOutcome {
	out, _, err := r.prg.ContextEval(ctx, act)
	switch {
	case err != nil:
		return RuleOutcome{Rule: r.name, Code: CodeCustomRule,
			Detail: r.reason + " (evaluation failed: " + err.Error() + ")"}
	case out == types.True:
		return RuleOutcome{Rule: r.name, Passed: true, Detail: "expression is true"}
	case out.Type() != types.BoolType:
		return RuleOutcome{Rule: r.name, Code: CodeCustomRule,
			Detail: r.reason + " (expression returned " + out.Type().TypeName() + ", not bool)"}
	default:
		return RuleOutcome{Rule: r.name, Code: CodeCustomRule, Detail: r.reason}
	}
}
