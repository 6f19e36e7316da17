package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// readFiles makes every path in c absolute and reads each *_file secret into its plain field. Paths
// from the file (and from the defaults) are relative to baseDir; paths of keys set by environment
// variables or flags (fromCLI) are relative to the working directory.
//
// It returns the problems found and the set of secret keys whose value could not be read, so
// that validation does not report them a second time.
func (c *Config) readFiles(baseDir string, fromCLI map[string]bool) (errs []error, failed map[string]bool) {
	failed = map[string]bool{}
	resolve := func(key, p string) string {
		switch {
		case p == "":
			return ""
		case filepath.IsAbs(p):
			return filepath.Clean(p)
		case fromCLI[key]:
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
			return p
		default:
			return filepath.Join(baseDir, p)
		}
	}
	// secret reads one *_file into *value; key is the plain key, key+"_file" the path key.
	secret := func(key, fileKey string, value, path *string) {
		*path = resolve(fileKey, *path)
		if *path == "" {
			return
		}
		if *value != "" {
			errs = append(errs, invalidf(fileKey, "give either %s or %s, not both", key, fileKey))
			failed[key] = true
			return
		}
		s, err := readSecretFile(*path)
		if err != nil {
			errs = append(errs, fieldErr(fileKey, err))
			failed[key] = true
			return
		}
		*value = s
	}

	secret("secrets.global", "secrets.global_file", &c.Secrets.Global, &c.Secrets.GlobalFile)
	secret("storage.redis.password", "storage.redis.password_file", &c.Storage.Redis.Password, &c.Storage.Redis.PasswordFile)
	for i := range c.Secrets.PreviousFiles {
		key := fmt.Sprintf("secrets.previous_files[%d]", i)
		c.Secrets.PreviousFiles[i] = resolve(key, c.Secrets.PreviousFiles[i])
		s, err := readSecretFile(c.Secrets.PreviousFiles[i])
		if err != nil {
			errs = append(errs, fieldErr(key, err))
			continue
		}
		c.Secrets.Previous = append(c.Secrets.Previous, s)
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		key := fmt.Sprintf("clients[%d].secret", i)
		secret(key, key+"_file", &cl.Secret, &cl.SecretFile)
	}
	for i := range c.Keys {
		c.Keys[i].File = resolve(fmt.Sprintf("keys[%d].file", i), c.Keys[i].File)
	}
	return errs, failed
}

// readSecretFile returns the content of a secret file without its trailing newline. The error
// names the path (never the content).
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("empty path")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// checkReadable reports whether path can be opened and read, and is not empty.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	var one [1]byte
	if n, err := f.Read(one[:]); n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%s is empty", path)
		}
		return fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
