package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testURI = "com.example.actasdemo:/handoff"

func TestCodeFromLink(t *testing.T) {
	tests := []struct {
		name, link, code string
	}{
		{name: "ok/deep-link", link: testURI + "#code=abc_-123", code: "abc_-123"},
		{name: "fail/other-app", link: "com.example.other:/handoff#code=abc"},
		{name: "fail/prefix-trick", link: testURI + ".evil#code=abc"},
		{name: "fail/code-in-query", link: testURI + "?code=abc"},
		{name: "fail/no-code", link: testURI + "#state=x"},
		{name: "fail/two-codes", link: testURI + "#code=a&code=b"},
		{name: "fail/empty-code", link: testURI + "#code="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, err := codeFromLink(tc.link, testURI)
			if code != tc.code || (tc.code == "") != (err != nil) {
				t.Fatalf("codeFromLink(%q) = %q, %v", tc.link, code, err)
			}
		})
	}
}

// fakeActas answers discovery, the token endpoint (one redemption per code) and userinfo.
func fakeActas(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	used := map[string]bool{}
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token_endpoint": srv.URL + "/oauth2/token", "userinfo_endpoint": srv.URL + "/userinfo"})
	})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if _, _, basic := r.BasicAuth(); basic || r.PostForm.Has("client_secret") || r.PostForm.Get("client_id") != "demo-mobile" ||
			r.PostForm.Get("subject_token_type") != "urn:actas:params:oauth:token-type:handoff_code" ||
			r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
			t.Errorf("token request: %v", r.PostForm)
		}
		mu.Lock()
		defer mu.Unlock()
		code := r.PostForm.Get("subject_token")
		if used[code] {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "reason_code": "handoff_replayed",
				"error_description": "already used"})
			return
		}
		used[code] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + code, "refresh_token": "rt", "expires_in": 300})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": "u-bob", "preferred_username": "bob",
			"act": map[string]any{"sub": "u-sam"}, "sid": "rep-1"})
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	srv := fakeActas(t)
	c := config{issuer: srv.URL, clientID: "demo-mobile", handoffURI: testURI, scope: "openid", httpClient: srv.Client()}
	var out strings.Builder
	if err := run(context.Background(), c, "code-1", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"signed in to demo-mobile as u-bob (bob)", "acting: u-sam (representation rep-1)", "refresh token: true"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output %q lacks %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "at-code-1") {
		t.Fatal("the output holds the access token")
	}
	err := run(context.Background(), c, "code-1", &out)
	if err == nil || !strings.Contains(err.Error(), "handoff_replayed") {
		t.Fatalf("second redemption: %v", err)
	}
}

func TestServeLaunch(t *testing.T) {
	srv := fakeActas(t)
	c := config{issuer: srv.URL, clientID: "demo-mobile", handoffURI: testURI, scope: "openid", httpClient: srv.Client()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln := httptest.NewUnstartedServer(nil) // only to reserve a free loopback address
	addr := ln.Listener.Addr().String()
	ln.Listener.Close()
	var out syncBuilder
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, addr, &out) }()
	var resp *http.Response
	var err error
	for range 500 { // up to 10 s for serve to listen
		resp, err = http.PostForm("http://"+addr+"/launch", map[string][]string{"link": {testURI + "#code=code-2"}})
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(out.String(), "acting: u-sam") {
		t.Fatalf("launch: %d, output %q", resp.StatusCode, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
