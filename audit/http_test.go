package audit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/storage/memory"
)

// fakeAuth maps bearer tokens to principals; "wrong-scope" answers like oauth's APIError would.
type fakeAuth struct {
	principals map[string]*audit.Principal
	gotScopes  []string
}

type apiError struct {
	status int
	code   string
}

func (e *apiError) Error() string { return e.code }
func (e *apiError) Write(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+e.code+`"`)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.code})
}

func (f *fakeAuth) Authenticate(r *http.Request, scopes ...string) (*audit.Principal, error) {
	f.gotScopes = scopes
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "wrong-scope" {
		return nil, &apiError{http.StatusForbidden, "insufficient_scope"}
	}
	if p, ok := f.principals[tok]; ok {
		return p, nil
	}
	return nil, http.ErrNoCookie // any error without Write
}

func TestAPI(t *testing.T) {
	t.Parallel()
	tr := quietTrail(t, memory.New(), nil)
	for i := range 5 {
		e := grant(i)
		if i == 4 {
			e.Target = "u-bob"
		}
		mustRecord(t, tr, e)
	}
	auth := &fakeAuth{principals: map[string]*audit.Principal{
		"auditor":  {Subject: "u-otto", Roles: []string{"auditor"}},
		"admin":    {Subject: "u-ada", Roles: []string{"support", "admin"}},
		"customer": {Subject: "u-carla", Roles: []string{"customer"}},
		"client":   {Subject: "svc"},
	}}
	mux := http.NewServeMux()
	tr.Routes(mux, auth)
	type answer struct {
		Events     []audit.Event `json:"events"`
		NextCursor string        `json:"next_cursor"`
		Error      string        `json:"error"`
	}
	call := func(t *testing.T, token, query string) (int, http.Header, answer) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/audit?"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var a answer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("body %q: %v", rec.Body.String(), err)
		}
		return rec.Code, rec.Header(), a
	}
	cases := []struct {
		name, token, query string
		status             int
		errCode            string
		events             int
	}{
		{"ok/auditor", "auditor", "", 200, "", 5},
		{"ok/admin-filtered", "admin", "target=u-bob", 200, "", 1},
		{"ok/limit-and-type", "auditor", "type=token_exchange.granted&limit=2", 200, "", 2},
		{"ok/time-range", "auditor", "since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z", 200, "", 5},
		{"fail/customer", "customer", "", 403, "access_denied", 0},
		{"fail/client-without-user", "client", "", 403, "access_denied", 0},
		{"fail/no-token", "", "", 401, "invalid_token", 0},
		{"fail/authenticator-writes-its-error", "wrong-scope", "", 403, "insufficient_scope", 0},
		{"fail/unknown-parameter", "auditor", "actr=u-sam", 400, "invalid_request", 0},
		{"fail/repeated-parameter", "auditor", "actor=a&actor=b", 400, "invalid_request", 0},
		{"fail/bad-time", "auditor", "since=yesterday", 400, "invalid_request", 0},
		// An empty filter (a script's unset variable) must not silently mean "everything".
		{"fail/empty-representation", "auditor", "representation=", 400, "invalid_request", 0},
		{"fail/empty-actor", "auditor", "actor=&type=login.failed", 400, "invalid_request", 0},
		{"fail/bad-limit", "auditor", "limit=0", 400, "invalid_request", 0},
		{"fail/bad-type", "auditor", "type=nope", 400, "invalid_request", 0},
		{"fail/bad-cursor", "auditor", "cursor=" + url.QueryEscape("x-y"), 400, "invalid_request", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, a := call(t, tc.token, tc.query)
			if status != tc.status || a.Error != tc.errCode || len(a.Events) != tc.events {
				t.Fatalf("status %d error %q events %d; want %d %q %d", status, a.Error, len(a.Events), tc.status, tc.errCode, tc.events)
			}
			if status == 200 && h.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", h.Get("Cache-Control"))
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
		})
	}
	if len(auth.gotScopes) != 1 || auth.gotScopes[0] != audit.ScopeAudit {
		t.Fatalf("asked for scopes %v", auth.gotScopes)
	}
	t.Run("ok/pagination", func(t *testing.T) {
		_, _, p1 := call(t, "auditor", "limit=3")
		if len(p1.Events) != 3 || p1.NextCursor == "" {
			t.Fatalf("page 1: %d events, cursor %q", len(p1.Events), p1.NextCursor)
		}
		_, _, p2 := call(t, "auditor", "limit=3&cursor="+url.QueryEscape(p1.NextCursor))
		if len(p2.Events) != 2 || p2.Events[0].Time.After(p1.Events[2].Time) {
			t.Fatalf("page 2: %d events", len(p2.Events))
		}
		if p1.Events[0].Hash == "" || p1.Events[1].Hash != p1.Events[0].PrevHash {
			t.Fatal("events are not chained newest first")
		}
	})
}

// TestAPIUnavailable: the store being down answers 503 temporarily_unavailable with Retry-After.
func TestAPIUnavailable(t *testing.T) {
	t.Parallel()
	tr := quietTrail(t, failingStore{errDown}, nil)
	mux := http.NewServeMux()
	tr.Routes(mux, &fakeAuth{principals: map[string]*audit.Principal{"auditor": {Roles: []string{"auditor"}}}})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer auditor")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "temporarily_unavailable") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
