package login

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// MaxReturnToLen bounds return_to. The authorization endpoint refuses a request that would not fit
// once rebuilt (invalid_request), so that a user is never sent to a sign-in page that cannot resume it.
const MaxReturnToLen = 8192

// ValidateReturnTo returns s unchanged if it is an allowed place to send the browser after login or
// consent, else an error wrapping [ErrInvalidReturnTo]. It is deliberately strict, to rule out open
// redirects (RFC 9700 §4.11) however a browser might read the Location header:
//
//   - it is a path relative to the issuer: "/oauth2/auth?…" (exactly that path, with a query) or a
//     path below "/account/";
//   - only printable ASCII, no space, no backslash (browsers read "\" as "/"), no fragment;
//   - no scheme, host or user info ("//evil.example" and "/\evil.example" are refused);
//   - the path is clean: no "." or ".." segments, no "//", no percent-encoded slash, backslash or
//     dot, no encoded control characters;
//   - the query parses.
func ValidateReturnTo(s string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%w: %s", ErrInvalidReturnTo, why) }
	if s == "" {
		return bad("missing")
	}
	if len(s) > MaxReturnToLen {
		return bad("too long")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return bad("forbidden character")
		}
	}
	authorize := strings.HasPrefix(s, "/oauth2/auth?")
	if !authorize && !strings.HasPrefix(s, "/account/") {
		return bad(`not "/oauth2/auth?…" or "/account/…"`)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("does not parse")
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return bad("not a relative path")
	}
	raw := strings.ToLower(u.EscapedPath())
	for _, enc := range []string{"%2f", "%5c", "%2e"} {
		if strings.Contains(raw, enc) {
			return bad("encoded separator in path")
		}
	}
	for _, c := range u.Path {
		if c < ' ' || c == 0x7f {
			return bad("control character in path")
		}
	}
	if clean := path.Clean(u.Path); clean != u.Path && clean+"/" != u.Path {
		return bad("path is not clean")
	}
	switch {
	case authorize && u.Path != "/oauth2/auth":
		return bad("not the authorization endpoint")
	case !authorize && !strings.HasPrefix(u.Path, "/account/"):
		return bad("not below /account/")
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return bad("query does not parse")
	}
	return s, nil
}

// appendQuery adds k=v to a validated return_to.
func appendQuery(returnTo, k, v string) string {
	sep := "?"
	if strings.Contains(returnTo, "?") {
		sep = "&"
	}
	return returnTo + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}
