package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// fuzzRequest builds a request from fuzzed parts. A target that httptest.NewRequest would refuse
// (it panics on an unparseable request line) is replaced by "/", with the query set directly.
func fuzzRequest(method, query, contentType, body string) *http.Request {
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Method = method
	r.URL.RawQuery = query
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// FuzzBearerToken: bearerToken returns a token or an error, never both; a token is never longer
// than maxTokenLen, from the header or the form body; a header token has no surrounding white
// space; a blank bearer header is refused, never read as "no header".
func FuzzBearerToken(f *testing.F) {
	f.Add(true, "Bearer abc.def.ghi", "", "")
	f.Add(true, "", "application/x-www-form-urlencoded", "access_token=abc.def.ghi")
	f.Add(true, "Bearer abc", "application/x-www-form-urlencoded", "access_token=xyz")
	f.Add(false, "bearer   spaced  ", "", "")
	f.Add(true, "Basic dXNlcjpwYXNz", "", "")
	f.Add(true, "Bearer ", "application/x-www-form-urlencoded; charset=utf-8", "access_token=a&access_token=b")
	f.Add(true, "Bearer  ", "application/x-www-form-urlencoded", "access_token=%zz")
	f.Add(true, "Bearer "+strings.Repeat("a", maxTokenLen+1), "", "")
	f.Add(true, "", "application/x-www-form-urlencoded", "access_token="+strings.Repeat("a", maxTokenLen+1))
	f.Add(true, "Bearer   ", "application/x-www-form-urlencoded", "access_token=abc")
	f.Fuzz(func(t *testing.T, post bool, authz, contentType, body string) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		r := fuzzRequest(method, "", contentType, body)
		if authz != "" {
			if strings.ContainsAny(authz, "\r\n\x00") {
				return // not a header value a server would receive
			}
			r.Header.Set("Authorization", authz)
		}
		tok, err := bearerToken(r)
		if tok != "" && err != nil {
			t.Fatalf("both a token %q and an error %v", tok, err)
		}
		if err != nil {
			return
		}
		if len(tok) > maxTokenLen {
			t.Fatalf("token of %d bytes exceeds maxTokenLen %d", len(tok), maxTokenLen)
		}
		// Where did an accepted token come from? A header, when there is one: a blank bearer
		// header is refused, never taken as "no header" (then a body token would be a second way).
		_, htok, _ := strings.Cut(authz, " ")
		if authz != "" && tok != "" && tok != strings.TrimSpace(htok) {
			t.Fatalf("header %q, but the token %q came from the body", authz, tok)
		}
		if fromHeader := strings.TrimSpace(htok); authz != "" && fromHeader != "" {
			if tok != fromHeader {
				t.Fatalf("header token %q, got %q", fromHeader, tok)
			}
			if len(tok) > maxTokenLen {
				t.Fatalf("header token of %d bytes exceeds maxTokenLen %d", len(tok), maxTokenLen)
			}
			if strings.TrimSpace(tok) != tok {
				t.Fatalf("header token %q keeps surrounding space", tok)
			}
		}
	})
}

// isClientError reports whether err is an RFC 6749 error with a 4xx status.
func isClientError(err error) bool {
	var rfc *fosite.RFC6749Error
	return errors.As(err, &rfc) && rfc.CodeField >= 400 && rfc.CodeField < 500 && rfc.ErrorField != ""
}

// FuzzCheckParams: checkParams never panics; it refuses with an RFC 6749 4xx error (always
// invalid_request), and when it accepts, the body holds no repeated non-repeatable parameter, no
// parameter beyond its bound, and the URL no query string.
func FuzzCheckParams(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	f.Add("", form, "grant_type=client_credentials&scope=a+b")
	f.Add("", form, "audience=a&audience=b&resource=https%3A%2F%2Fr")
	f.Add("", form, "scope=a&scope=b")
	f.Add("x=1", form, "grant_type=client_credentials")
	f.Add("%zz", form, "grant_type=x")
	f.Add("", form, "grant_type=%zz")
	f.Add("", form, "subject_token="+strings.Repeat("a", maxParamLen+1))
	f.Add("", form, "client_id="+strings.Repeat("a", maxParamLen+1))
	f.Add("", "application/json", `{"grant_type":"x"}`)
	f.Add("", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n")
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		r := fuzzRequest(http.MethodPost, query, contentType, body)
		err := checkParams(r)
		if err != nil {
			if !isClientError(err) {
				t.Fatalf("checkParams: %v (%T) is not an RFC 6749 4xx error", err, err)
			}
			return
		}
		if r.URL.RawQuery != "" {
			t.Fatalf("accepted a query string %q", r.URL.RawQuery)
		}
		for name, vals := range r.PostForm {
			if len(vals) > 1 && !repeatable[name] {
				t.Fatalf("accepted %d values of %q", len(vals), name)
			}
			for _, v := range vals {
				if len(v) > maxTokenLen || (!tokenParams[name] && len(v) > maxParamLen) {
					t.Fatalf("accepted a %d-byte %q", len(v), name)
				}
			}
		}
	})
}

// FuzzClientAuth: after checkParams accepted the request, clientAuth never panics and refuses only
// with RFC 6749 4xx errors (the memory store never fails, so no storage error is possible). When it
// accepts a body secret for a confidential client registered without an auth method, the
// credentials have moved into the Authorization header (RFC 6749 §2.3.1 encoding) and the body no
// longer carries the secret.
func FuzzClientAuth(f *testing.F) {
	ctx := context.Background()
	store := storage.NewStore(memory.New(), storage.StoreOptions{NewSession: func() fosite.Session { return NewSession("") }})
	for _, c := range []*storage.Client{
		{ID: "conf", SecretHash: []byte("x"), GrantTypes: []string{"client_credentials"}},
		{ID: "conf basic", SecretHash: []byte("x"), GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic"},
		{ID: "pub", Public: true, GrantTypes: []string{"authorization_code"}},
	} {
		if err := store.UpsertClient(ctx, c); err != nil {
			f.Fatal(err)
		}
	}
	p := &Provider{opts: Options{Store: store}}
	const form = "application/x-www-form-urlencoded"
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	f.Add(basic("conf", "s3cret"), "grant_type=client_credentials")
	f.Add(basic("conf", "s3cret"), "client_id=conf")
	f.Add(basic("conf", "s3cret"), "client_id=other")
	f.Add(basic("conf", "s3cret"), "client_secret=s3cret")
	f.Add(basic("a%zz", "s"), "client_id=a")
	f.Add("", "client_id=conf&client_secret=s3cret")
	f.Add("", "client_id=conf+basic&client_secret=s3cret")
	f.Add("", "client_id=pub")
	f.Add("", "client_id=unknown&client_secret=x")
	f.Add("", "grant_type=client_credentials")
	f.Add("", "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c")
	f.Add("Bearer x", "")
	f.Fuzz(func(t *testing.T, authz, body string) {
		if strings.ContainsAny(authz, "\r\n\x00") {
			return
		}
		r := fuzzRequest(http.MethodPost, "", form, body)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if checkParams(r) != nil {
			return // the token endpoint stops here
		}
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		_, _, hadBasic := r.BasicAuth()
		err := p.clientAuth(ctx, r)
		if err != nil {
			if !isClientError(err) {
				t.Fatalf("clientAuth: %v (%T) is not an RFC 6749 4xx error", err, err)
			}
			return
		}
		if !hadBasic && secret != "" && id == "conf" {
			u, s, ok := r.BasicAuth()
			if !ok {
				t.Fatal("body credentials of a confidential client were not moved to the header")
			}
			if du, err := url.QueryUnescape(u); err != nil || du != id {
				t.Fatalf("header client id %q (%v), want %q", u, err, id)
			}
			if ds, err := url.QueryUnescape(s); err != nil || ds != secret {
				t.Fatalf("header secret %q (%v), want %q", s, err, secret)
			}
			if r.PostForm.Get("client_secret") != "" || r.Form.Get("client_secret") != "" {
				t.Fatal("client_secret stayed in the body")
			}
		}
	})
}

// FuzzValidS256Challenge: an accepted code_challenge is 43 characters of the base64url alphabet
// that decode to a SHA-256 hash and re-encode to themselves (a challenge whose last character
// carries non-zero padding bits could never match a verifier).
func FuzzValidS256Challenge(f *testing.F) {
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") // RFC 7636 Appendix B
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN") // non-canonical last character
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c")
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM")
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=")
	f.Add("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSs\ntw-cM")
	f.Add(strings.Repeat("A", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		if !validS256Challenge(c) {
			return
		}
		if len(c) != 43 {
			t.Fatalf("accepted %d characters: %q", len(c), c)
		}
		for i := 0; i < len(c); i++ {
			if b := c[i]; !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
				t.Fatalf("accepted %q with a non-base64url byte %q", c, b)
			}
		}
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) != 32 {
			t.Fatalf("accepted %q that decodes to %d bytes (%v)", c, len(b), err)
		}
		if re := base64.RawURLEncoding.EncodeToString(b); re != c {
			t.Fatalf("accepted %q re-encodes to %q", c, re)
		}
	})
}

// FuzzMaxAgeExceeded: maxAgeExceeded never panics; a max_age that is not a non-negative integer
// (checkAuthorizeParams refuses it earlier) counts as exceeded, and no max_age or no login session
// never does. Otherwise the answer is "the login is older than max_age seconds", also for a
// max_age beyond time.Duration (292 years: never exceeded, where max_age × 1 s used to overflow).
func FuzzMaxAgeExceeded(f *testing.F) {
	for _, s := range []string{"", "0", "60", "3600", "-1", "1e3", "abc", "9223372036854775807", "9223372037", "18446744074", " 5", "+5", "0x10"} {
		f.Add(s, int64(120))
	}
	p := &Provider{}
	f.Fuzz(func(t *testing.T, maxAge string, ageSec int64) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Form = url.Values{}
		if maxAge != "" {
			r.Form.Set("max_age", maxAge)
		}
		if ageSec < 0 || ageSec > 1<<32 { // about 136 years, within time.Duration
			ageSec = 120
		}
		login := &storage.LoginSession{AuthTime: time.Now().Add(-time.Duration(ageSec) * time.Second)}
		if p.maxAgeExceeded(r, nil) {
			t.Fatal("exceeded without a login session")
		}
		got := p.maxAgeExceeded(r, login)
		if maxAge == "" {
			if got {
				t.Fatal("exceeded without max_age")
			}
			return
		}
		n, err := strconv.ParseInt(maxAge, 10, 64)
		if err != nil || n < 0 {
			if !got {
				t.Fatalf("max_age %q is not a non-negative integer but not exceeded", maxAge)
			}
			return
		}
		// Leave a second each way for the time that passes during the call.
		switch {
		case ageSec-1 > n && !got:
			t.Fatalf("max_age=%d, login %ds old: not exceeded", n, ageSec)
		case ageSec+1 < n && got:
			t.Fatalf("max_age=%d, login %ds old: exceeded", n, ageSec)
		}
	})
}
