package exchange

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// TestRepresentationBounds: refresh keeps act and sid and stays inside the representation; tokens
// exchanged from an impersonation token stay under it; once it has ended, refresh and exchange
// both fail.
func TestRepresentationBounds(t *testing.T) {
	t.Parallel()
	testRepresentationBounds(t)
}

func testRepresentationBounds(t *testing.T, opts ...envOpt) {
	e := newEnv(t, opts...)
	r := e.exchange(impForm(e.agentToken("u-sam"), "u-bob", "scope", "impersonation openid offline_access orders:read"))
	wantOK(t, r)
	first := claimsOf(t, r.str("access_token"))
	sid := first["sid"].(string)
	e.reps.mu.Lock()
	notAfter := e.reps.active[sid].rep.ExpiresAt
	e.reps.mu.Unlock()
	rt := r.str("refresh_token")
	if rt == "" {
		t.Fatal("offline_access with a refresh-capable client must give a refresh token")
	}

	refresh := func(tok string) result {
		return e.post("console", consoleSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})
	}
	r2 := refresh(rt)
	wantOK(t, r2)
	c := claimsOf(t, r2.str("access_token"))
	if c["sub"] != "u-bob" || c["sid"] != sid || !reflect.DeepEqual(c["act"], first["act"]) || c[ClaimReason] != first[ClaimReason] {
		t.Fatalf("refreshed claims %v lost the impersonation context of %v", c, first)
	}
	if exp := time.Unix(int64(c["exp"].(float64)), 0); exp.After(notAfter) {
		t.Fatalf("refreshed token expires %v, after the representation %v", exp, notAfter)
	}
	if id := r2.str("id_token"); id == "" {
		t.Fatal("openid was granted: the refresh must return an ID token")
	} else if ic := claimsOf(t, id); ic["sub"] != "u-bob" || !reflect.DeepEqual(ic["act"], first["act"]) || ic["sid"] != sid {
		t.Fatalf("refreshed ID token %v must carry act and sid", ic)
	}

	// A token exchanged from the impersonation token is recorded under the same representation.
	r3 := e.exchange(url.Values{"subject_token": {r2.str("access_token")}, "subject_token_type": {TokenTypeAccessToken}, "scope": {"orders:read"}})
	wantOK(t, r3)
	if c3 := claimsOf(t, r3.str("access_token")); c3["sid"] != sid || !reflect.DeepEqual(c3["act"], first["act"]) {
		t.Fatalf("downscoped impersonation token %v", c3)
	}
	e.reps.mu.Lock()
	n := len(e.reps.grants[sid])
	e.reps.mu.Unlock()
	if n != 2 {
		t.Fatalf("grants recorded under %s: %d, want 2 (impersonation, downscoping)", sid, n)
	}

	// The representation ends: refresh and exchange are refused.
	e.reps.end(sid)
	wantError(t, refresh(r2.str("refresh_token")), http.StatusBadRequest, "invalid_grant", "[reason=representation_ended]")
	r4 := e.exchange(url.Values{"subject_token": {r3.str("access_token")}, "subject_token_type": {TokenTypeAccessToken}})
	wantError(t, r4, http.StatusBadRequest, "invalid_request", "[reason=representation_ended]")
}

// TestRefreshNeverOutlivesSubject: a refresh token from a downscoping is bounded by the subject
// token, and so is everything refreshing it produces.
func TestRefreshNeverOutlivesSubject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"orders:read", "offline_access"}, ttl: 3 * time.Minute})
	r := e.exchange(url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken}, "scope": {"orders:read offline_access"}})
	wantOK(t, r)
	r2 := e.post("console", consoleSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}})
	wantOK(t, r2)
	c := claimsOf(t, r2.str("access_token"))
	if exp := time.Unix(int64(c["exp"].(float64)), 0); exp.After(subj.exp) {
		t.Fatalf("refreshed exp %v beyond the subject's %v", exp, subj.exp)
	}
	if c["sub"] != "u-alice" || c["client_id"] != "console" {
		t.Fatalf("claims %v", c)
	}
}

// TestNoRefreshWithoutRefreshGrant: offline_access from a client without the refresh_token grant
// gives no refresh token and is not granted.
func TestNoRefreshWithoutRefreshGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "other", sub: "u-alice", scopes: []string{"orders:read", "offline_access"}})
	r := e.post("other", otherSecret, withGrant(url.Values{"subject_token": {subj.access},
		"subject_token_type": {TokenTypeAccessToken}, "scope": {"orders:read offline_access"}}))
	wantOK(t, r)
	if r.str("refresh_token") != "" || r.str("scope") != "orders:read" {
		t.Fatalf("refresh token %q, scope %q: offline_access must not be granted without the refresh_token grant",
			r.str("refresh_token"), r.str("scope"))
	}
}
