package policy

import (
	"fmt"
	"strings"
)

// scopeMatcher matches scope tokens (RFC 6749 §3.3) exactly or by prefix ("orders:*"); "*" alone
// matches every scope.
type scopeMatcher struct {
	exact    set
	prefixes []string
	all      bool
}

func (m scopeMatcher) empty() bool { return len(m.exact) == 0 && len(m.prefixes) == 0 && !m.all }

func (m scopeMatcher) match(scope string) bool {
	if m.all || m.exact.has(scope) {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(scope, p) {
			return true
		}
	}
	return false
}

func compileScopes(v *validator, key string, patterns []string) scopeMatcher {
	m := scopeMatcher{exact: make(set, len(patterns))}
	for i, p := range patterns {
		body, wildcard := strings.CutSuffix(p, "*")
		bodyOK := validScope(body) || (wildcard && body == "")
		if !bodyOK || strings.Contains(body, "*") {
			v.add(fmt.Sprintf("%s[%d]", key, i),
				"invalid scope %q (RFC 6749 §3.3 characters; '*' only at the end)", p)
			continue
		}
		switch {
		case wildcard && body == "":
			m.all = true
		case wildcard:
			m.prefixes = append(m.prefixes, body)
		default:
			m.exact[p] = struct{}{}
		}
	}
	return m
}

// validScope reports whether s is a scope-token: 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// grantScopes applies the deny-list and the allow-list to the requested scopes. It returns the
// granted scopes (request order, no duplicates), the requested scopes that are denied (on the
// deny-list, malformed, or containing '*'), and the ones dropped because the allow-list does not
// match them.
func (e *Engine) grantScopes(requested []string) (granted, denied, dropped []string) {
	granted = make([]string, 0, len(requested))
	for _, s := range requested {
		switch {
		case s == "":
			continue
		case e.deniedScopes.match(s) || !validScope(s) || strings.Contains(s, "*"):
			// A malformed or wildcard-looking scope cannot be judged against the deny-list:
			// a relying party might read "*" as "everything".
			denied = appendUnique(denied, s)
		case !e.allowedScopes.empty() && !e.allowedScopes.match(s):
			dropped = appendUnique(dropped, s)
		default:
			granted = appendUnique(granted, s)
		}
	}
	return granted, denied, dropped
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
