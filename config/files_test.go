package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	fileGlobal   = "file-global-secret-0123456789abcdef0123"
	fileRedisPW  = "redis-password-from-file"
	fileClient   = "client-secret-from-file-0123456789abcdef"
	filePrevious = "previous-global-secret-0123456789abcdef"
)

// secretsDir writes a config that takes every secret from a file, relative to the config's
// directory, and returns the config path.
func secretsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "conf/secrets/global", fileGlobal+"\n")
	writeFile(t, dir, "conf/secrets/redis", fileRedisPW+"\r\n")
	writeFile(t, dir, "conf/secrets/client", fileClient)
	writeFile(t, dir, "conf/secrets/previous", filePrevious+"\n")
	writeFile(t, dir, "conf/keys/es.pem", "k")
	writeFile(t, dir, "conf/keys/rs.pem", "k")
	return writeFile(t, dir, "conf/actas.yaml", `
issuer: https://id.example.com
storage:
  redis: {url: "redis://127.0.0.1:6379/0", password_file: secrets/redis}
secrets:
  global_file: secrets/global
  previous: [inline-previous-secret-0123456789abcdef]
  previous_files: [secrets/previous]
keys:
  - {kid: es-1, alg: ES256, state: active, file: keys/es.pem}
  - {kid: rs-1, alg: RS256, state: active, file: keys/rs.pem}
clients:
  - {id: c, secret_file: secrets/client, grant_types: [client_credentials]}
`)
}

func TestLoadSecretFiles(t *testing.T) {
	t.Parallel()
	file := secretsDir(t)
	c, err := Load(LoadOptions{File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(file)
	assertEqual(t, "secrets.global", c.Secrets.Global, fileGlobal)
	assertEqual(t, "storage.redis.password (CRLF trimmed)", c.Storage.Redis.Password, fileRedisPW)
	assertEqual(t, "clients[0].secret", c.Clients[0].Secret, fileClient)
	assertEqual(t, "secrets.previous", c.Secrets.Previous, []string{"inline-previous-secret-0123456789abcdef", filePrevious})
	assertEqual(t, "secrets.global_file", c.Secrets.GlobalFile, filepath.Join(dir, "secrets", "global"))
	assertEqual(t, "keys[0].file", c.Keys[0].File, filepath.Join(dir, "keys", "es.pem"))
	if !filepath.IsAbs(c.Keys[1].File) || !filepath.IsAbs(c.Clients[0].SecretFile) || !filepath.IsAbs(c.Secrets.PreviousFiles[0]) {
		t.Fatalf("paths not made absolute: %+v %+v", c.Keys, c.Secrets)
	}
}

// TestLoadSecretFileFromEnvIsRelativeToWorkingDirectory cannot run in parallel: it changes the
// working directory.
func TestLoadSecretFileFromEnvIsRelativeToWorkingDirectory(t *testing.T) {
	file := secretsDir(t)
	cwd := t.TempDir()
	writeFile(t, cwd, "other-global", "global-secret-from-the-working-dir-0123\n")
	t.Chdir(cwd)
	c, err := Load(LoadOptions{File: file, Env: []string{"ACTAS_SECRETS_GLOBAL_FILE=other-global"}})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "secrets.global", c.Secrets.Global, "global-secret-from-the-working-dir-0123")
	got, err1 := os.Stat(c.Secrets.GlobalFile)
	want, err2 := os.Stat(filepath.Join(cwd, "other-global"))
	if err1 != nil || err2 != nil || !os.SameFile(got, want) || !filepath.IsAbs(c.Secrets.GlobalFile) {
		t.Fatalf("global_file = %s; want the absolute path of other-global in %s", c.Secrets.GlobalFile, cwd)
	}
}

func TestLoadSecretFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) // breaks the directory made by secretsDir
		env   []string
		key   string
	}{
		{"fail/global-file-missing", func(t *testing.T, dir string) { rm(t, dir, "secrets/global") }, nil, "secrets.global_file"},
		{"fail/global-file-empty", func(t *testing.T, dir string) { writeFile(t, dir, "secrets/global", "\n") }, nil, "secrets.global_file"},
		{"fail/global-file-is-directory", func(t *testing.T, dir string) {
			rm(t, dir, "secrets/global")
			if err := os.Mkdir(filepath.Join(dir, "secrets/global"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil, "secrets.global_file"},
		{"fail/global-and-global-file", nil, []string{"ACTAS_SECRETS_GLOBAL=inline-global-secret-0123456789abcdef"}, "secrets.global_file"},
		{"fail/redis-password-file-missing", func(t *testing.T, dir string) { rm(t, dir, "secrets/redis") }, nil, "storage.redis.password_file"},
		{"fail/redis-password-and-file", nil, []string{"ACTAS_STORAGE_REDIS_PASSWORD=pw"}, "storage.redis.password_file"},
		{"fail/client-secret-file-missing", func(t *testing.T, dir string) { rm(t, dir, "secrets/client") }, nil, "clients[0].secret_file"},
		{"fail/previous-file-missing", func(t *testing.T, dir string) { rm(t, dir, "secrets/previous") }, nil, "secrets.previous_files[0]"},
		{"fail/key-file-missing", func(t *testing.T, dir string) { rm(t, dir, "keys/rs.pem") }, nil, "keys[1].file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := secretsDir(t)
			if tc.setup != nil {
				tc.setup(t, filepath.Dir(file))
			}
			env := tc.env
			if env == nil {
				env = []string{}
			}
			_, err := Load(LoadOptions{File: file, Env: env})
			wantFieldError(t, err, tc.key, nil)
			// The secret whose file failed is reported once, under its *_file key.
			if n := len(FieldErrors(err)); n != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", n, err)
			}
			for _, s := range []string{fileGlobal, fileRedisPW, fileClient, filePrevious} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error contains a secret: %v", err)
				}
			}
		})
	}
}

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}
