package audit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on the fields of an [Event].
const (
	// MaxIDLen bounds the identifier fields (id, actor, target, client, representation_id,
	// consent_id, decision, rule, reason_code, ticket, source_address, request_id).
	MaxIDLen = 256
	// MaxTextLen bounds the free-text fields (reason_text, user_agent) and each detail value.
	MaxTextLen = 1024
	// MaxDetail bounds the number of detail entries; a detail key is 1..40 bytes of [a-z0-9_],
	// starting with a letter.
	MaxDetail = 16
)

// Errors of [Validate] and [Trail.Record]; test with errors.Is.
var (
	// ErrInvalidEvent: the event is malformed (unknown type, over-long or non-printable value,
	// bad detail key).
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrSecret: a value looks like a credential (a JWT or an opaque token), or a detail key names
	// one. It wraps ErrInvalidEvent.
	ErrSecret = fmt.Errorf("%w: value looks like a credential", ErrInvalidEvent)
)

// redacted replaces what [Sanitize] removes.
const redacted = "[redacted]"

// validDetailKey reports whether k matches [a-z][a-z0-9_]{0,39} (a loop: it runs for every
// detail entry of every event).
func validDetailKey(k string) bool {
	if len(k) == 0 || len(k) > 40 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// secretKeyWords: a detail key containing one of these names a credential and is refused.
var secretKeyWords = []string{"password", "passwd", "secret", "token", "totp", "otp", "assertion", "credential", "cookie", "authorization", "private"}

// allowedTokenKeys are detail keys that contain "token" but hold no credential.
var allowedTokenKeys = map[string]bool{"token_type": true, "subject_token_type": true, "actor_token_type": true, "issued_token_type": true, "token_jti": true, "token_type_hint": true}

// LooksLikeSecret reports whether s contains something shaped like a token: a compact JWS or JWE,
// or an opaque OAuth token as fosite issues them (see [secretSpans]). Passwords and TOTP codes have
// no shape; keeping them out is the caller's duty (pass identifiers, never what the user typed as
// a credential).
func LooksLikeSecret(s string) bool { return len(secretSpans(s, true)) > 0 }

// secretSpans returns the [start, end) byte ranges of s that look like credentials (only the first
// when first is set). It looks at every "dotted run" — a maximal sequence of base64url characters
// and dots — and flags the whole run when one of its dot-separated parts
//
//   - contains "eyJ", or starts with "ey" and is at least 10 long, and is followed by two more parts
//     (a JWS header — the base64url of `{"` — and payload and signature; a JWE has five parts);
//   - is followed by a part, both at least 32 long (fosite's "<key>.<signature>" HMAC tokens);
//   - starts three consecutive parts at least 16 long (any other compact token);
//
// or when the run contains "ory_at_", "ory_rt_" or "ory_ac_" (fosite's token prefixes). Domain
// names, version numbers, URLs and user agents do not match. It scans once, without regular
// expressions: Validate runs on every event of the token endpoint.
func secretSpans(s string, first bool) [][2]int {
	var spans [][2]int
	for i := 0; i < len(s); {
		if !runChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && runChar(s[j]) {
			j++
		}
		if secretRun(s[i:j]) {
			spans = append(spans, [2]int{i, j})
			if first {
				return spans
			}
		}
		i = j
	}
	return spans
}

func runChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// secretRun applies the rules of secretSpans to one dotted run.
func secretRun(run string) bool {
	if len(run) < 20 {
		return false
	}
	if strings.Contains(run, "ory_at_") || strings.Contains(run, "ory_rt_") || strings.Contains(run, "ory_ac_") {
		return true
	}
	// lens holds the lengths of the last three parts seen, newest last; n counts parts seen.
	var lens [3]int
	n, jwsAt := 0, -1
	for part := range strings.SplitSeq(run, ".") {
		lens[0], lens[1], lens[2] = lens[1], lens[2], len(part)
		n++
		if jwsAt < 0 && (strings.Contains(part, "eyJ") || (strings.HasPrefix(part, "ey") && len(part) >= 10)) {
			jwsAt = n
		}
		switch {
		case jwsAt > 0 && n-jwsAt >= 2:
			return true
		case n >= 2 && lens[1] >= 32 && lens[2] >= 32:
			return true
		case n >= 3 && lens[0] >= 16 && lens[1] >= 16 && lens[2] >= 16:
			return true
		}
	}
	return false
}

// secretKey reports whether a detail key names a credential.
func secretKey(k string) bool {
	if allowedTokenKeys[k] {
		return false
	}
	for _, w := range secretKeyWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

type field struct {
	name  string
	value *string
	max   int
}

// fields returns an array, not a slice, so that it stays on the caller's stack.
func fields(e *Event) [15]field {
	return [15]field{
		{"id", &e.ID, MaxIDLen}, {"type", &e.Type, MaxIDLen}, {"actor", &e.Actor, MaxIDLen},
		{"target", &e.Target, MaxIDLen}, {"client", &e.Client, MaxIDLen},
		{"representation_id", &e.RepresentationID, MaxIDLen}, {"consent_id", &e.ConsentID, MaxIDLen},
		{"decision", &e.Decision, MaxIDLen}, {"rule", &e.Rule, MaxIDLen}, {"reason_code", &e.ReasonCode, MaxIDLen},
		{"reason_text", &e.ReasonText, MaxTextLen}, {"ticket", &e.Ticket, MaxIDLen},
		{"source_address", &e.SourceAddress, MaxIDLen}, {"user_agent", &e.UserAgent, MaxTextLen},
		{"request_id", &e.RequestID, MaxIDLen},
	}
}

// Validate checks an event before it is recorded: a type from the catalogue; a decision that is
// empty, "allow" or "deny"; every value valid UTF-8 without control characters (no forged log
// lines), within its bound, and not shaped like a credential ([LooksLikeSecret]); at most
// [MaxDetail] detail entries with well-formed keys that do not name a credential. PrevHash and
// Hash are not checked: Record sets them.
//
// Callers that take a value from a request (a purpose, a ticket) may call Validate first, before
// they write anything, and refuse the request with invalid_request; [Trail.Record] refuses the
// same event later, after the work is done.
func Validate(e Event) error {
	if !KnownType(e.Type) {
		return fmt.Errorf("%w: type %q is not in the catalogue", ErrInvalidEvent, clip(e.Type, 64))
	}
	if e.Decision != "" && e.Decision != DecisionAllow && e.Decision != DecisionDeny {
		return fmt.Errorf("%w: decision must be %q or %q", ErrInvalidEvent, DecisionAllow, DecisionDeny)
	}
	for _, f := range fields(&e) {
		if err := checkValue(f.name, *f.value, f.max); err != nil {
			return err
		}
	}
	if len(e.Detail) > MaxDetail {
		return fmt.Errorf("%w: %d detail entries, at most %d", ErrInvalidEvent, len(e.Detail), MaxDetail)
	}
	for k, v := range e.Detail {
		if !validDetailKey(k) {
			return fmt.Errorf("%w: detail key %q: want [a-z][a-z0-9_]{0,39}", ErrInvalidEvent, clip(k, 48))
		}
		if secretKey(k) {
			return fmt.Errorf("%w: detail key %q names a credential", ErrSecret, k)
		}
		if err := checkValue("detail."+k, v, MaxTextLen); err != nil {
			return err
		}
	}
	return nil
}

// checkValue never puts the value in the error: it may be the secret it refuses.
func checkValue(name, v string, max int) error {
	switch {
	case len(v) > max:
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrInvalidEvent, name, len(v), max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidEvent, name)
	case strings.IndexFunc(v, unprintable) >= 0:
		return fmt.Errorf("%w: %s holds a control character", ErrInvalidEvent, name)
	case LooksLikeSecret(v):
		return fmt.Errorf("%w: %s", ErrSecret, name)
	}
	return nil
}

// unprintable: C0 and C1 controls, DEL, and the line and paragraph separators (which some log
// viewers treat as newlines).
func unprintable(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// Sanitize returns a copy of e that passes [Validate] whenever e's type is in the catalogue:
// credential-shaped parts are replaced by "[redacted]", control characters by spaces, invalid
// UTF-8 by U+FFFD, over-long values clipped (ending in "…"), an unknown decision and malformed or
// credential-naming detail entries dropped (Detail["sanitized"] = "true" records that something
// changed). [Trail.RecordBestEffort] uses it, so that a denial caused by a malformed request is
// still recorded, without the secret.
func Sanitize(e Event) Event {
	changed := false
	for _, f := range fields(&e) {
		if v := sanitizeValue(*f.value, f.max); v != *f.value {
			*f.value, changed = v, true
		}
	}
	if e.Decision != "" && e.Decision != DecisionAllow && e.Decision != DecisionDeny {
		e.Decision, changed = "", true
	}
	if len(e.Detail) > 0 {
		d := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			if !validDetailKey(k) || secretKey(k) || k == "sanitized" {
				changed = true
				continue
			}
			sv := sanitizeValue(v, MaxTextLen)
			changed = changed || sv != v
			d[k] = sv
		}
		for len(d) > MaxDetail-1 { // leave room for "sanitized"
			changed = true
			delete(d, maxKey(d))
		}
		e.Detail = d
	}
	if changed {
		e.Detail = withSanitized(e.Detail)
	}
	return e
}

// withSanitized returns d (allocated when nil) with the "sanitized" mark.
func withSanitized(d map[string]string) map[string]string {
	if d == nil {
		d = map[string]string{}
	}
	d["sanitized"] = "true"
	return d
}

func maxKey(d map[string]string) string {
	m := ""
	for k := range d {
		if k > m {
			m = k
		}
	}
	return m
}

func sanitizeValue(v string, max int) string {
	if v == "" {
		return v
	}
	v = strings.ToValidUTF8(v, "\ufffd")
	v = strings.Map(func(r rune) rune {
		if unprintable(r) {
			return ' '
		}
		return r
	}, v)
	if spans := secretSpans(v, false); len(spans) > 0 {
		var b strings.Builder
		last := 0
		for _, sp := range spans {
			b.WriteString(v[last:sp[0]])
			b.WriteString(redacted)
			last = sp[1]
		}
		b.WriteString(v[last:])
		v = b.String()
	}
	return clip(v, max)
}

// clip shortens s to at most max bytes on a rune boundary, ending in "…" when it cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	cut := max - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}
