package exchange

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// BenchmarkTokenExchange measures the token endpoint in process (no network): client
// authentication, fosite, verification of the tokens against the memory store, policy, the
// (fake, in-memory) representation service, ES256 signing and storing the issued token.
//
//	go test -run '^$' -bench BenchmarkTokenExchange -benchtime 2s ./exchange/
func BenchmarkTokenExchange(b *testing.B) {
	b.Run("delegation", func(b *testing.B) {
		e := newEnv(b)
		subj := e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"orders:read"}, ttl: time.Hour})
		actor := e.mint(mint{client: "console", sub: "u-sam", ttl: time.Hour}).access
		body := withGrant(url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken},
			"actor_token": {actor}, "actor_token_type": {TokenTypeAccessToken}, "scope": {"orders:read"}}).Encode()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if code := benchPost(e, body); code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
		}
	})
	b.Run("impersonation", func(b *testing.B) {
		// Many distinct agent/customer pairs; every exchange opens a new representation, which is
		// ended again afterwards (outside the timer), so no exchange joins or is refused.
		const pairs = 64
		e := newEnv(b)
		bodies := make([]string, pairs)
		agents := make([]string, pairs)
		for i := range pairs {
			agents[i] = fmt.Sprintf("u-agent-%d", i)
			cust := fmt.Sprintf("u-cust-%d", i)
			for _, u := range []*storage.User{
				{ID: agents[i], Username: agents[i], Roles: []string{"support"}, Tenant: "acme", ImpersonationAllowed: true},
				{ID: cust, Username: cust, Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
			} {
				if err := e.store.UpsertUser(context.Background(), u); err != nil {
					b.Fatal(err)
				}
			}
			tok := e.mint(mint{client: "console", sub: agents[i], amr: []string{"pwd", "otp"}, authTime: time.Now(), ttl: time.Hour}).access
			bodies[i] = withGrant(impForm(tok, cust)).Encode()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if code := benchPost(e, bodies[i%pairs]); code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
			b.StopTimer()
			e.reps.endActor(agents[i%pairs])
			b.StartTimer()
		}
	})
}

func benchPost(e *env, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("console", consoleSecret)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec.Code
}
