package exchange

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ory/fosite"
)

func TestParseRequest(t *testing.T) {
	t.Parallel()
	base := func(kv ...string) url.Values {
		v := url.Values{"subject_token": {"tok"}, "subject_token_type": {TokenTypeAccessToken}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<del>" {
				v.Del(kv[i])
				continue
			}
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	big := strings.Repeat("a", MaxTokenSize+1)
	tests := []struct {
		name     string
		form     url.Values
		wantErr  string // RFC 6749 error code; "" for success
		fragment string
		check    func(t *testing.T, r *Request)
	}{
		{name: "ok/minimal", form: base(), check: func(t *testing.T, r *Request) {
			if r.RequestedTokenType != TokenTypeAccessToken || r.ActorToken != "" || len(r.Scope) != 0 {
				t.Fatalf("defaults: %+v", r)
			}
		}},
		{name: "ok/everything", form: base("actor_token", "act", "actor_token_type", TokenTypeIDToken,
			"requested_token_type", TokenTypeJWT, "audience", "a", "audience", "b", "audience", "a",
			"resource", "https://r.example/x?y=1", "scope", "s1  s2 s1", "reason", "why", "ticket", "T-1"),
			check: func(t *testing.T, r *Request) {
				if !slices.Equal(r.Audience, []string{"a", "b"}) || !slices.Equal(r.Resource, []string{"https://r.example/x?y=1"}) ||
					!slices.Equal(r.Scope, []string{"s1", "s2"}) || r.ActorTokenType != TokenTypeIDToken ||
					r.RequestedTokenType != TokenTypeJWT || r.Reason != "why" || r.Ticket != "T-1" {
					t.Fatalf("parsed: %+v", r)
				}
				if !slices.Equal(r.Targets(), []string{"a", "b", "https://r.example/x?y=1"}) {
					t.Fatalf("targets: %v", r.Targets())
				}
			}},
		{name: "ok/user-id-subject", form: base("subject_token_type", "<del>", "subject_token_type", TokenTypeUserID)},
		{name: "fail/missing-subject-token", form: base("subject_token", "<del>"), wantErr: "invalid_request", fragment: "'subject_token' is missing"},
		{name: "fail/missing-subject-type", form: base("subject_token_type", "<del>"), wantErr: "invalid_request", fragment: "'subject_token_type' is missing"},
		{name: "fail/unknown-subject-type", form: base("subject_token_type", "<del>", "subject_token_type", "urn:example:unknown"), wantErr: "invalid_request", fragment: "not supported as a subject"},
		{name: "fail/id-token-as-subject-type", form: base("subject_token_type", "<del>", "subject_token_type", TokenTypeIDToken), wantErr: "invalid_request", fragment: "not supported as a subject"},
		{name: "fail/refresh-token-as-actor-type", form: base("actor_token", "a", "actor_token_type", TokenTypeRefreshToken), wantErr: "invalid_request", fragment: "not supported as an actor"},
		{name: "fail/user-id-as-actor-type", form: base("actor_token", "a", "actor_token_type", TokenTypeUserID), wantErr: "invalid_request", fragment: "not supported as an actor"},
		{name: "fail/actor-token-without-type", form: base("actor_token", "a"), wantErr: "invalid_request", fragment: "'actor_token_type' is required"},
		{name: "fail/actor-type-without-token", form: base("actor_token_type", TokenTypeAccessToken), wantErr: "invalid_request", fragment: "must not be sent without"},
		{name: "fail/requested-refresh-token", form: base("requested_token_type", TokenTypeRefreshToken), wantErr: "invalid_request", fragment: "cannot be issued"},
		{name: "fail/requested-unknown", form: base("requested_token_type", "urn:x"), wantErr: "invalid_request", fragment: "cannot be issued"},
		{name: "fail/duplicate-subject-token", form: base("subject_token", "again"), wantErr: "invalid_request", fragment: "more than once"},
		{name: "fail/duplicate-scope", form: base("scope", "a", "scope", "b"), wantErr: "invalid_request", fragment: "'scope' must not"},
		{name: "fail/duplicate-actor-token", form: base("actor_token", "a", "actor_token", "b", "actor_token_type", TokenTypeAccessToken), wantErr: "invalid_request", fragment: "'actor_token' must not"},
		{name: "fail/oversize-subject-token", form: base("subject_token", "<del>", "subject_token", big), wantErr: "invalid_request", fragment: "exceeds"},
		{name: "fail/oversize-actor-token", form: base("actor_token", big, "actor_token_type", TokenTypeAccessToken), wantErr: "invalid_request", fragment: "exceeds"},
		{name: "fail/oversize-scope", form: base("scope", strings.Repeat("s", MaxParamSize+1)), wantErr: "invalid_request", fragment: "exceeds"},
		{name: "fail/relative-resource", form: base("resource", "/orders"), wantErr: "invalid_target", fragment: "not an absolute URI"},
		{name: "fail/resource-with-fragment", form: base("resource", "https://r.example/#frag"), wantErr: "invalid_target", fragment: "fragment"},
		{name: "fail/resource-with-empty-fragment", form: base("resource", "https://r.example/#"), wantErr: "invalid_target", fragment: "fragment"},
		{name: "fail/audience-with-space", form: base("audience", "a b"), wantErr: "invalid_request", fragment: "repeat the parameter"},
		{name: "fail/empty-audience", form: base("audience", ""), wantErr: "invalid_request"},
		{name: "fail/too-many-targets", form: func() url.Values {
			v := base()
			for i := 0; i <= MaxTargets; i++ {
				v.Add("audience", "aud"+strings.Repeat("x", i))
			}
			return v
		}(), wantErr: "invalid_request", fragment: "At most"},
		// Thousands of values are refused by their count, before any is parsed or compared (the
		// duplicate check is quadratic); an invalid one among them does not change the answer.
		{name: "fail/too-many-targets-counted-raw", form: func() url.Values {
			v := base()
			for range 4000 {
				v.Add("audience", "same")
			}
			v.Add("resource", "not a uri")
			return v
		}(), wantErr: "invalid_request", fragment: "At most"},
		{name: "fail/bad-scope-char", form: base("scope", `a"b`), wantErr: "invalid_scope"},
		{name: "fail/long-reason", form: base("reason", strings.Repeat("r", MaxReasonSize+1)), wantErr: "invalid_request", fragment: "'reason' exceeds"},
		{name: "fail/long-ticket", form: base("ticket", strings.Repeat("T", MaxTicketSize+1)), wantErr: "invalid_request", fragment: "'ticket' exceeds"},
		{name: "fail/reason-not-utf8", form: base("reason", "\xff\xfe"), wantErr: "invalid_request", fragment: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRequest(tt.form)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", fosite.ErrorToRFC6749Error(err).GetDescription())
				}
				if tt.check != nil {
					tt.check(t, r)
				}
				return
			}
			var e *fosite.RFC6749Error
			if !errors.As(err, &e) || e.ErrorField != tt.wantErr {
				t.Fatalf("got %v, want %s", err, tt.wantErr)
			}
			if !strings.Contains(e.GetDescription(), tt.fragment) {
				t.Fatalf("description %q does not contain %q", e.GetDescription(), tt.fragment)
			}
		})
	}
}

// FuzzParseRequest: any form either parses into a request that keeps the invariants, or fails
// with an RFC 6749 error; never a panic.
func FuzzParseRequest(f *testing.F) {
	f.Add("subject_token=t&subject_token_type=" + url.QueryEscape(TokenTypeAccessToken))
	f.Add("subject_token=u-bob&subject_token_type=" + url.QueryEscape(TokenTypeUserID) + "&actor_token=a&actor_token_type=" +
		url.QueryEscape(TokenTypeIDToken) + "&scope=impersonation+orders:read&reason=r&ticket=T-1")
	f.Add("subject_token=t&subject_token_type=x&resource=https%3A%2F%2Fa%2F%23f&audience=a&audience=b")
	f.Add("subject_token=t&subject_token=t&scope=%22")
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r, err := ParseRequest(form)
		if err != nil {
			var e *fosite.RFC6749Error
			if !errors.As(err, &e) || e.CodeField != 400 {
				t.Fatalf("error is not a 400 RFC 6749 error: %v", err)
			}
			return
		}
		switch {
		case r.SubjectToken == "" || len(r.SubjectToken) > MaxTokenSize || len(r.ActorToken) > MaxTokenSize:
			t.Fatalf("subject token bounds: %d", len(r.SubjectToken))
		case (r.ActorToken == "") != (r.ActorTokenType == ""):
			t.Fatal("actor_token_type must be present exactly when actor_token is")
		case !typeAllows(r.SubjectTokenType, useSubject|useImpersonationSubject):
			t.Fatalf("unsupported subject type accepted: %q", r.SubjectTokenType)
		case !typeAllows(r.RequestedTokenType, useIssue):
			t.Fatalf("unsupported requested type accepted: %q", r.RequestedTokenType)
		case len(r.Audience)+len(r.Resource) > MaxTargets || len(r.Scope) > MaxScopes:
			t.Fatal("too many values accepted")
		}
		for _, res := range r.Resource {
			u, err := url.Parse(res)
			if err != nil || !u.IsAbs() || strings.Contains(res, "#") {
				t.Fatalf("bad resource accepted: %q", res)
			}
		}
		for _, s := range r.Scope {
			if s == "" || strings.ContainsAny(s, " \"\\") {
				t.Fatalf("bad scope accepted: %q", s)
			}
		}
	})
}
