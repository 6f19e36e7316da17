package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	t.Parallel()
	const value = "hunter2-very-secret"
	s := Secret(value)
	for _, f := range []string{"%v", "%s", "%q", "%#v", "%+v"} {
		if got := fmt.Sprintf(f, s); strings.Contains(got, value) {
			t.Errorf("fmt %s leaks: %s", f, got)
		}
	}
	if string(s) != value {
		t.Fatal("conversion must still give the value")
	}
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log, err := New(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		log.Info("login", "user", "alice", "pw", s, "cfg", struct{ Key Secret }{s})
		out := buf.String()
		if strings.Contains(out, value) {
			t.Errorf("%s log leaks the secret: %s", format, out)
		}
		if !strings.Contains(out, Redacted) || !strings.Contains(out, "alice") {
			t.Errorf("%s log: %s", format, out)
		}
	}
}

func TestSensitiveKeysRedacted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		redact bool
	}{
		{name: "ok/password", key: "password", redact: true},
		{name: "ok/client-secret", key: "Client_Secret", redact: true},
		{name: "ok/refresh-token", key: "refresh_token", redact: true},
		{name: "ok/actor-token", key: "actor_token", redact: true},
		{name: "ok/authorization-header", key: "Authorization", redact: true},
		{name: "ok/set-cookie", key: "Set-Cookie", redact: true},
		{name: "ok/jti-kept", key: "jti", redact: false},
		{name: "ok/user-kept", key: "user", redact: false},
		{name: "ok/status-kept", key: "status", redact: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := New(&buf, "json", "info")
			if err != nil {
				t.Fatal(err)
			}
			log.WithGroup("req").Info("x", tc.key, "VALUE-123")
			leaked := strings.Contains(buf.String(), "VALUE-123")
			if leaked == tc.redact {
				t.Fatalf("key %q: redact = %v, output %s", tc.key, tc.redact, buf.String())
			}
		})
	}
}

func TestSecretJSON(t *testing.T) {
	t.Parallel()
	type cfg struct {
		URL string `json:"url"`
		Pw  Secret `json:"pw"`
	}
	b, err := json.Marshal(cfg{URL: "redis://x", Pw: "topsecret"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"url":"redis://x","pw":"[redacted]"}`; got != want {
		t.Fatalf("json = %s, want %s", got, want)
	}
	var back cfg
	if err := json.Unmarshal([]byte(`{"pw":"fromfile"}`), &back); err != nil || string(back.Pw) != "fromfile" {
		t.Fatalf("decode: %v %q", err, back.Pw)
	}
}
