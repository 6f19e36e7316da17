package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// repReceiver is a relying party's back-channel logout endpoint (OIDC Back-Channel Logout 1.0
// §2.5) that verifies logout tokens with go-oidc against actas's published keys.
type repReceiver struct {
	t        *testing.T
	srv      *httptest.Server
	verifier *oidc.IDTokenVerifier
	// answer decides the status of the n-th request (1-based).
	answer func(n int) int
	// block, when not nil, holds every request until it is closed.
	block chan struct{}

	mu       sync.Mutex
	n        int
	verified []*oidc.LogoutToken
	headers  []map[string]any
	errs     []error
}

func newRepReceiver(t *testing.T, e *repEnv, clientID string, answer func(n int) int) *repReceiver {
	t.Helper()
	jwks := httptest.NewServer(e.mux) // serves /.well-known/jwks.json
	t.Cleanup(jwks.Close)
	ks := oidc.NewRemoteKeySet(context.Background(), jwks.URL+"/.well-known/jwks.json")
	r := &repReceiver{t: t, answer: answer,
		verifier: oidc.NewVerifier(repIssuer, ks, &oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"RS256"}})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	e.setBackchannel(clientID, r.srv.URL+"/backchannel-logout")
	return r
}

func (r *repReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	status := r.answer(n)
	if status == http.StatusOK {
		raw := req.PostFormValue("logout_token")
		lt, err := r.verifier.VerifyLogout(req.Context(), raw)
		var hdr map[string]any
		if err == nil {
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
			err = json.Unmarshal(b, &hdr)
		}
		r.mu.Lock()
		if err != nil {
			r.errs = append(r.errs, err)
			status = http.StatusBadRequest
		} else {
			r.verified, r.headers = append(r.verified, lt), append(r.headers, hdr)
		}
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (r *repReceiver) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func repAlways(status int) func(int) int { return func(int) int { return status } }

// TestRepBackchannelLogout checks the logout token and its delivery on every backend.
func TestRepBackchannelLogout(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("ok/verified-by-go-oidc-after-retries", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rx := newRepReceiver(t, e, "console", func(n int) int {
					if n <= 2 {
						return http.StatusServiceUnavailable
					}
					return http.StatusOK
				})
				_, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")
				if a := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.agent("u-sam"), nil); a.status != 200 {
					t.Fatalf("stop: %d %v", a.status, a.body)
				}
				e.svc.Wait()
				if len(rx.errs) > 0 || len(rx.verified) != 1 || rx.calls() != 3 {
					t.Fatalf("calls %d, verified %d, errors %v", rx.calls(), len(rx.verified), rx.errs)
				}
				lt, hdr := rx.verified[0], rx.headers[0]
				var claims map[string]any
				_ = lt.Claims(&claims)
				if lt.SessionID != sid || lt.Subject != "" || claims["sub"] != nil || claims["nonce"] != nil ||
					lt.TokenID == "" || lt.Expiry.Sub(lt.IssuedAt) != LogoutTokenLifetime || hdr["typ"] != LogoutTokenType ||
					hdr["kid"] == nil || lt.Audience[0] != "console" {
					t.Fatalf("logout token %+v, claims %v, header %v", lt, claims, hdr)
				}
				events, _ := claims["events"].(map[string]any)
				if _, ok := events[BackchannelLogoutEvent]; !ok || len(events) != 1 {
					t.Fatalf("events %v", claims["events"])
				}
				rec, _ := e.svc.Get(ctx, sid)
				if len(rec.Logout) != 1 || !rec.Logout[0].Delivered || rec.Logout[0].Attempts != 3 || rec.Logout[0].ClientID != "console" {
					t.Fatalf("recorded %+v", rec.Logout)
				}
			})

			t.Run("ok/every-client-of-the-session", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				console := newRepReceiver(t, e, "console", repAlways(http.StatusOK))
				rp := newRepReceiver(t, e, "rp", repAlways(http.StatusOK))
				_, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")
				if err := e.svc.RecordClient(ctx, sid, "rp"); err != nil { // a hand-off to rp
					t.Fatal(err)
				}
				e.svc.OnLoginSessionEnded(ctx, "u-sam", "x")
				e.svc.Wait()
				for name, rx := range map[string]*repReceiver{"console": console, "rp": rp} {
					if len(rx.verified) != 1 || rx.verified[0].SessionID != sid || rx.verified[0].Audience[0] != name {
						t.Fatalf("%s: %d verified, errors %v", name, len(rx.verified), rx.errs)
					}
				}
				if rec, _ := e.svc.Get(ctx, sid); len(rec.Logout) != 2 {
					t.Fatalf("recorded %+v", rec.Logout)
				}
			})

			t.Run("fail/refused-token-is-not-retried", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rx := newRepReceiver(t, e, "console", repAlways(http.StatusBadRequest))
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				_, _, _ = e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor)
				e.svc.Wait()
				rec, _ := e.svc.Get(ctx, rep.ID)
				if rx.calls() != 1 || len(rec.Logout) != 1 || rec.Logout[0].Delivered || rec.Logout[0].Status != 400 {
					t.Fatalf("calls %d, recorded %+v", rx.calls(), rec.Logout)
				}
			})

			t.Run("fail/retries-are-bounded", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repWith(func(o *ServiceOptions) { o.BackchannelAttempts = 3 }))
				rx := newRepReceiver(t, e, "console", repAlways(http.StatusBadGateway))
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				_, _, _ = e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor)
				e.svc.Wait()
				rec, _ := e.svc.Get(ctx, rep.ID)
				if rx.calls() != 3 || len(rec.Logout) != 1 || rec.Logout[0].Delivered || rec.Logout[0].Attempts != 3 {
					t.Fatalf("calls %d, recorded %+v", rx.calls(), rec.Logout)
				}
			})

			t.Run("fail/timeout-counts-as-a-failed-attempt", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repWith(func(o *ServiceOptions) {
					o.BackchannelAttempts, o.BackchannelTimeout = 2, 50*time.Millisecond
				}))
				rx := newRepReceiver(t, e, "console", func(int) int { time.Sleep(300 * time.Millisecond); return 200 })
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				_, _, _ = e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor)
				e.svc.Wait()
				rec, _ := e.svc.Get(ctx, rep.ID)
				if len(rec.Logout) != 1 || rec.Logout[0].Delivered || rec.Logout[0].Attempts != 2 || rx.calls() < 1 {
					t.Fatalf("recorded %+v", rec.Logout)
				}
			})

			t.Run("ok/stop-never-waits-for-the-relying-party", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rx := newRepReceiver(t, e, "console", repAlways(http.StatusOK))
				rx.block = make(chan struct{})
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				done := make(chan error, 1)
				go func() { _, _, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); done <- err }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("stop waited for the back-channel logout")
				}
				close(rx.block)
				e.svc.Wait()
				if len(rx.verified) != 1 {
					t.Fatalf("verified %d, errors %v", len(rx.verified), rx.errs)
				}
			})

			t.Run("ok/none-on-abort-or-expiry", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repClockFor(b.name))
				rx := newRepReceiver(t, e, "console", repAlways(http.StatusOK))
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				_ = e.svc.Abort(ctx, rep.ID)
				req := repStartReq("u-sam", "u-alice")
				req.TTL = time.Minute
				rep2, _ := e.svc.Start(ctx, req)
				e.clock.Advance(2 * time.Minute)
				_ = e.svc.Active(ctx, rep2.ID)
				e.svc.Wait()
				if rx.calls() != 0 {
					t.Fatalf("%d logout calls", rx.calls())
				}
			})
		})
	}
}
