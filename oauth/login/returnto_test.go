package login

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestValidateReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "ok/authorize", in: "/oauth2/auth?client_id=app&response_type=code&scope=openid+email", ok: true},
		{name: "ok/authorize-encoded", in: "/oauth2/auth?redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=a%2Fb", ok: true},
		{name: "ok/account", in: "/account/", ok: true},
		{name: "ok/account-page", in: "/account/requests?id=7", ok: true},
		{name: "fail/empty", in: ""},
		{name: "fail/absolute", in: "https://evil.example/oauth2/auth?x=1"},
		{name: "fail/scheme-relative", in: "//evil.example/oauth2/auth?x=1"},
		{name: "fail/backslash-host", in: "/\\evil.example/oauth2/auth?x=1"},
		{name: "fail/backslash-in-path", in: "/account/\\evil.example"},
		{name: "fail/javascript", in: "javascript:alert(1)"},
		{name: "fail/authorize-without-query", in: "/oauth2/auth"},
		{name: "fail/other-path", in: "/oauth2/token?x=1"},
		{name: "fail/authorize-prefix-trick", in: "/oauth2/authz?x=1"},
		{name: "fail/account-without-slash", in: "/account"},
		{name: "fail/account-dotdot", in: "/account/../oauth2/token"},
		{name: "fail/account-encoded-dotdot", in: "/account/%2e%2e/admin"},
		{name: "fail/account-encoded-slash", in: "/account/%2F%2Fevil.example"},
		{name: "fail/account-double-slash", in: "/account//evil.example"},
		{name: "fail/account-dot", in: "/account/./x"},
		{name: "fail/encoded-nul", in: "/account/a%00b"},
		{name: "fail/tab", in: "/account/\t/evil.example"},
		{name: "fail/newline", in: "/oauth2/auth?x=1\r\nSet-Cookie: a=b"},
		{name: "fail/space", in: "/oauth2/auth?x=a b"},
		{name: "fail/fragment", in: "/oauth2/auth?x=1#frag"},
		{name: "fail/non-ascii", in: "/account/é"},
		{name: "fail/bad-query", in: "/oauth2/auth?x=%zz"},
		{name: "fail/semicolon-query", in: "/oauth2/auth?a=1;b=2"},
		{name: "fail/too-long", in: "/oauth2/auth?x=" + strings.Repeat("a", MaxReturnToLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateReturnTo(tt.in)
			if tt.ok {
				if err != nil || got != tt.in {
					t.Fatalf("ValidateReturnTo(%q) = %q, %v", tt.in, got, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidReturnTo) || got != "" {
				t.Fatalf("ValidateReturnTo(%q) = %q, %v; want ErrInvalidReturnTo", tt.in, got, err)
			}
		})
	}
}

// FuzzValidateReturnTo checks the validator's promise on arbitrary input: whatever it accepts stays
// on our origin when a browser resolves it against the issuer, lands on an allowed path, and is a
// clean, printable-ASCII string.
func FuzzValidateReturnTo(f *testing.F) {
	for _, s := range []string{
		"/oauth2/auth?client_id=a", "/account/", "/account/x?y=1", "//evil.example", "/\\evil",
		"/account/%2e%2e/", "/oauth2/auth?%", "https://evil/", "/account/..;/x", "/oauth2/auth?a=1#b",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://id.example/")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ValidateReturnTo(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidReturnTo) {
				t.Fatalf("error %v does not wrap ErrInvalidReturnTo", err)
			}
			return
		}
		if got != s {
			t.Fatalf("accepted %q but returned %q", s, got)
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '\\' {
				t.Fatalf("accepted %q with byte %#x", s, s[i])
			}
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		abs := base.ResolveReference(u)
		if abs.Scheme != "https" || abs.Host != "id.example" || abs.User != nil {
			t.Fatalf("accepted %q resolves off-origin to %q", s, abs)
		}
		if abs.Path != "/oauth2/auth" && !strings.HasPrefix(abs.Path, "/account/") {
			t.Fatalf("accepted %q resolves to path %q", s, abs.Path)
		}
		if c := path.Clean(abs.Path); c != abs.Path && c+"/" != abs.Path {
			t.Fatalf("accepted %q with unclean path %q", s, abs.Path)
		}
	})
}
