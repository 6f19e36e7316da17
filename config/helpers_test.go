package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeFile writes content to dir/name (creating directories) and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// devKeyFile is the absolute path of a committed dev key.
func devKeyFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "deploy", "dev", "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// validConfig is a configuration that passes Validate outside dev mode: the demo data, an https
// issuer, a global secret and one active key per algorithm in use.
func validConfig(t *testing.T) *Config {
	t.Helper()
	c := Dev()
	c.Dev = false
	c.Issuer = "https://id.example.com"
	c.Secrets.Global = strings.Repeat("g", 32)
	c.Keys = []Key{
		{Kid: "es-1", Alg: AlgES256, State: KeyStateActive, File: devKeyFile(t, "dev-es256-1.pem")},
		{Kid: "rs-1", Alg: AlgRS256, State: KeyStateActive, File: devKeyFile(t, "dev-rs256-1.pem")},
	}
	return c
}

// minimalYAML is a file that validates outside dev mode once its key paths exist (see
// writeMinimal).
const minimalYAML = `
issuer: https://id.example.com
secrets:
  global: gggggggggggggggggggggggggggggggg
keys:
  - {kid: es-1, alg: ES256, state: active, file: es.pem}
  - {kid: rs-1, alg: RS256, state: active, file: rs.pem}
`

// writeMinimal writes minimalYAML plus extra into a fresh directory with the two key files, and
// returns the config path.
func writeMinimal(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "es.pem", "not parsed by config\n")
	writeFile(t, dir, "rs.pem", "not parsed by config\n")
	return writeFile(t, dir, "actas.yaml", minimalYAML+extra)
}

// errKeys lists the keys of every FieldError in err.
func errKeys(err error) []string {
	var keys []string
	for _, fe := range FieldErrors(err) {
		keys = append(keys, fe.Key)
	}
	return keys
}

// wantFieldError fails unless err has a FieldError for key that matches target.
func wantFieldError(t *testing.T, err error, key string, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one for %s", key)
	}
	for _, fe := range FieldErrors(err) {
		if fe.Key == key {
			if target != nil && !errors.Is(fe, target) {
				t.Fatalf("error for %s = %v; want it to match %v", key, fe, target)
			}
			if !strings.HasPrefix(fe.Error(), key+": ") {
				t.Fatalf("error text %q does not start with the key", fe.Error())
			}
			return
		}
	}
	t.Fatalf("no error for key %s in:\n%v\n(keys: %v)", key, err, errKeys(err))
}

// canon returns a copy of v (a struct or slice) with every empty slice set to nil, so that a
// value decoded from YAML ("audience: []") compares equal to one built in Go.
func canon[T any](v T) T {
	p := reflect.New(reflect.TypeOf(v)).Elem()
	p.Set(reflect.ValueOf(v))
	canonValue(p)
	return p.Interface().(T)
}

func canonValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			canonValue(c.Index(i))
		}
		v.Set(c)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				canonValue(v.Field(i))
			}
		}
	}
}

func containsAll(s string, subs ...string) bool {
	return !slices.ContainsFunc(subs, func(x string) bool { return !strings.Contains(s, x) })
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}
