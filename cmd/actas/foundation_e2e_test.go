package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/storage/redistest"
)

// runCLI runs the actas command line in process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	err := root.Execute()
	code := 0
	if err != nil {
		code = 1
		if ee, ok := err.(exitError); ok {
			code = ee.code
		} else {
			errb.WriteString("actas: " + err.Error() + "\n")
		}
	}
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string // substring of stderr
		wantOut  string
	}{
		{name: "fail/serve-without-config", args: []string{"serve"}, wantCode: 1, wantErr: "--config"},
		{name: "fail/unknown-key", args: []string{"config", "validate", "--config", write("typo.yaml", "storage:\n  backnd: redis\n")},
			wantCode: 1, wantErr: "storage.backnd"},
		{name: "fail/malformed-yaml", args: []string{"config", "validate", "--config", write("bad.yaml", "server: [\n")},
			wantCode: 1, wantErr: "bad.yaml"},
		{name: "fail/unknown-env", args: []string{"config", "validate", "--dev"}, env: map[string]string{"ACTAS_STORAGE_BACKNED": "redis"},
			wantCode: 1, wantErr: "ACTAS_STORAGE_BACKNED"},
		{name: "fail/bad-env-value", args: []string{"config", "validate", "--dev"}, env: map[string]string{"ACTAS_STORAGE_BACKEND": "mongo"},
			wantCode: 1, wantErr: "storage.backend"},
		{name: "fail/key-file-does-not-parse", args: []string{"serve", "--config", write("badkey.yaml",
			"issuer: http://127.0.0.1:8080\nsecrets:\n  global: 0123456789abcdef0123456789abcdef\nkeys:\n  - {kid: k1, alg: ES256, state: active, file: "+write("k.pem", "not a key")+"}\n  - {kid: k2, alg: RS256, state: active, file: "+write("k2.pem", "not a key")+"}\n")},
			wantCode: 1, wantErr: "k.pem"},
		{name: "ok/validate-example", args: []string{"config", "validate", "--config", "../../deploy/config.example.yaml"}, wantOut: "issuer:"},
		{name: "ok/validate-dev-file", args: []string{"config", "validate", "--config", "../../deploy/dev/actas.yaml"}, wantOut: "demo-console"},
		{name: "ok/version", args: []string{"version"}, wantOut: "actas "},
		{name: "ok/keys-generate", args: []string{"keys", "generate", "--alg", "EdDSA", "--out", filepath.Join(dir, "ed.pem")}, wantOut: "kid:"},
		{name: "ok/totp-secret", args: []string{"users", "totp-secret", "alice"}, wantOut: "otpauth://totp/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.env, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errOut)
			}
			if tc.wantErr != "" && !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("stderr %q lacks %q", errOut, tc.wantErr)
			}
			if tc.wantOut != "" && !strings.Contains(out, tc.wantOut) {
				t.Fatalf("stdout %q lacks %q", out, tc.wantOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Fatalf("stack trace on stderr: %s", errOut)
			}
		})
	}
	t.Run("ok/validate-redacts-secrets", func(t *testing.T) {
		_, out, _ := runCLI(t, nil, "config", "validate", "--config", "../../deploy/dev/actas.yaml")
		if strings.Contains(out, config.DemoConsoleClientSecret) || strings.Contains(out, "$argon2id$") {
			t.Fatal("config validate printed a secret")
		}
	})
	t.Run("ok/hash-password", func(t *testing.T) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetArgs([]string{"users", "hash-password"})
		root.SetIn(strings.NewReader("s3cret-pass\n"))
		root.SetOut(&out)
		if err := root.Execute(); err != nil || !strings.HasPrefix(out.String(), "$argon2id$") {
			t.Fatalf("hash-password: %v %q", err, out.String())
		}
	})
}

// startFromConfig loads a configuration file with env overrides and runs the app on loopback
// listeners (public and ops), as `actas serve --config` does.
func startFromConfig(t *testing.T, file string, env map[string]string) (public, ops string) {
	t.Helper()
	pl, _ := net.Listen("tcp", "127.0.0.1:0")
	ol, _ := net.Listen("tcp", "127.0.0.1:0")
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	envList = append(envList, "ACTAS_ISSUER=http://"+pl.Addr().String(),
		"ACTAS_SERVER_PUBLIC_ADDR="+pl.Addr().String(), "ACTAS_SERVER_OPS_ADDR="+ol.Addr().String())
	cfg, err := config.Load(config.LoadOptions{File: file, Env: envList})
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	ps := &http.Server{Handler: a.public}
	os_ := &http.Server{Handler: a.ops}
	go func() { _ = ps.Serve(pl) }()
	go func() { _ = os_.Serve(ol) }()
	a.ready.Start(ctx)
	t.Cleanup(func() { cancel(); _ = ps.Close(); _ = os_.Close(); a.Close() })
	return "http://" + pl.Addr().String(), "http://" + ol.Addr().String()
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestExampleConfigOnRealRedis serves deploy/config.example.yaml against a real redis-server, loses
// Redis (readiness red, 503 on the token endpoint) and gets it back, without a restart.
func TestExampleConfigOnRealRedis(t *testing.T) {
	rs := redistest.StartServer(t)
	public, ops := startFromConfig(t, "../../deploy/config.example.yaml", map[string]string{
		"ACTAS_STORAGE_REDIS_URL": rs.URL(), "ACTAS_STORAGE_REDIS_KEY_PREFIX": "ex-" + randHex(4) + ":"})
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		if code, body := get(t, public+path); code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	// The first readiness check (the first connection to a Redis just started) may still be on
	// its way.
	eventually(t, "readyz to turn green", func() bool { c, _ := get(t, ops+"/readyz"); return c == http.StatusOK })
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, body := get(t, ops+path); code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}

	rs.Stop()
	eventually(t, "readyz to turn red", func() bool { c, _ := get(t, ops+"/readyz"); return c == http.StatusServiceUnavailable })
	if code, _ := get(t, ops+"/healthz"); code != 200 {
		t.Fatal("healthz must stay green: the process is alive")
	}
	resp, err := http.PostForm(public+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {config.DemoConsoleClientID}, "client_secret": {config.DemoConsoleClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || body["access_token"] != nil {
		t.Fatalf("token endpoint during outage: %d %v", resp.StatusCode, body)
	}

	rs.Start()
	eventually(t, "readyz to turn green", func() bool { c, _ := get(t, ops+"/readyz"); return c == 200 })
	// Clients are seeded at start; a restarted Redis without persistence lost them, so the
	// example (which keeps no data on disk here) is checked on what needs no seed: discovery.
	if code, _ := get(t, public+"/.well-known/openid-configuration"); code != 200 {
		t.Fatal("discovery after recovery")
	}
}

// TestRefreshAcrossProcesses shows that two replicas sharing Redis, the global secret and the keys
// accept each other's refresh tokens.
func TestRefreshAcrossProcesses(t *testing.T) {
	o := redistest.Options(t)
	env := map[string]string{"ACTAS_STORAGE_BACKEND": "redis", "ACTAS_STORAGE_REDIS_URL": o.URL, "ACTAS_STORAGE_REDIS_KEY_PREFIX": o.KeyPrefix,
		"ACTAS_LOGIN_COOKIE_SECURE": "false"}
	a, _ := startFromConfig(t, "../../deploy/dev/actas.yaml", env)
	b, _ := startFromConfig(t, "../../deploy/dev/actas.yaml", env)

	// Log in and get a refresh token at A (the issuer differs per listener here, so the code flow
	// runs against A only; the refresh goes to B's token endpoint).
	srvA := &testServer{URL: a}
	spa := newRP(t, srvA, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", "openid", "offline_access")
	tok, _ := spa.codeFlow(t, newBrowser(t, a), "alice")
	cfgB := *spa.oauth
	cfgB.Endpoint.TokenURL = b + "/oauth2/token"
	next, err := cfgB.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh at the other process: %v", err)
	}
	if next.RefreshToken == "" || next.AccessToken == "" {
		t.Fatal("no tokens from the other process")
	}
}
