package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestPrintRedactsEverySecret(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	c.Secrets.Global = "global-secret-value-0123456789abcdef"
	c.Secrets.Previous = []string{"previous-secret-value-0123456789abcdef"}
	c.Storage.Redis.Password = "redis-password-value"
	c.Storage.Redis.URL = "rediss://actas:url-password-value@redis.example.com:6380/0"
	secrets := []string{
		c.Secrets.Global, c.Secrets.Previous[0], "redis-password-value", "url-password-value",
		DemoConsoleClientSecret, DemoAPIClientSecret,
	}
	for _, u := range c.Users {
		secrets = append(secrets, u.PasswordHash)
		if u.TOTPSecret != "" {
			secrets = append(secrets, u.TOTPSecret)
		}
	}
	// Parts of a hash are secret material too: its salt and key.
	parts := strings.Split(c.Users[0].PasswordHash, "$")
	secrets = append(secrets, parts[4], parts[5])

	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("printed config contains the secret %q", s)
		}
	}
	if !containsAll(out, RedactedValue, "demo-console", "rediss://actas:[redacted]@redis.example.com:6380/0",
		"access_token_lifespan: 10m0s", "issuer: https://id.example.com") {
		t.Errorf("printed config lacks expected content:\n%s", out)
	}
	// Redacted must not touch the original.
	if c.Secrets.Global != "global-secret-value-0123456789abcdef" || c.Clients[2].Secret != DemoConsoleClientSecret ||
		c.Users[4].TOTPSecret == RedactedValue || c.Secrets.Previous[0] == RedactedValue {
		t.Fatal("Redacted modified the original configuration")
	}
}

func TestRedactedKeepsEmptySecretsEmpty(t *testing.T) {
	t.Parallel()
	r := Dev().Redacted()
	if r.Secrets.Global != "" || r.Clients[0].Secret != "" || r.Users[0].TOTPSecret != "" {
		t.Fatal("an unset secret must print as empty, not as [redacted]")
	}
	if r.Clients[2].Secret != RedactedValue || r.Users[4].TOTPSecret != RedactedValue {
		t.Fatal("set secrets not redacted")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://user@127.0.0.1:6379", "redis://user@127.0.0.1:6379"},
		{"redis://:pw@127.0.0.1:6379/1", "redis://:[redacted]@127.0.0.1:6379/1"},
		{"rediss://u:p%40ss@h:1/2?dial_timeout=1s", "rediss://u:[redacted]@h:1/2?dial_timeout=1s"},
		{"redis://u:pw@[::1", RedactedValue},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestCloneIsDeep fills every field of a Config, including ones added later, and checks that the
// clone shares no slice with the original (so that Redacted can never write into it).
func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	c := &Config{}
	fill(reflect.ValueOf(c).Elem())
	r := c.clone()
	if !reflect.DeepEqual(c, r) {
		t.Fatal("clone differs from the original")
	}
	var walk func(path string, a, b reflect.Value)
	walk = func(path string, a, b reflect.Value) {
		switch a.Kind() {
		case reflect.Slice:
			if a.Len() > 0 && a.Pointer() == b.Pointer() {
				t.Errorf("%s: clone shares the slice with the original", path)
			}
			for i := range a.Len() {
				walk(path+"[]", a.Index(i), b.Index(i))
			}
		case reflect.Struct:
			for i := range a.NumField() {
				walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	}
	walk("Config", reflect.ValueOf(c).Elem(), reflect.ValueOf(r).Elem())
}

// fill sets every string to "x", every number to 1, every bool to true, and every slice to one
// filled element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}
