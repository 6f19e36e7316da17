package config

import (
	"path/filepath"
	"testing"
)

func TestValidateKeys(t *testing.T) {
	t.Parallel()
	key := func(i int, mut func(k *Key)) func(*Config) { return func(c *Config) { mut(&c.Keys[i]) } }
	add := func(k Key) func(*Config) {
		return func(c *Config) {
			if k.File == "." {
				k.File = c.Keys[0].File
			}
			c.Keys = append(c.Keys, k)
		}
	}
	runValidate(t, []vcase{
		{"ok/next-and-retired-beside-active", func(c *Config) {
			c.Keys = append(c.Keys,
				Key{Kid: "es-0", Alg: AlgES256, State: KeyStateRetired, File: c.Keys[0].File},
				Key{Kid: "es-2", Alg: AlgES256, State: KeyStateNext, File: c.Keys[0].File})
		}, ""},
		{"ok/removed-without-file", add(Key{Kid: "old", Alg: AlgRS256, State: KeyStateRemoved}), ""},
		{"ok/no-keys-in-dev", func(c *Config) { c.Dev = true; c.Keys = nil }, ""},
		{"ok/dev-keys-not-covering-algs", func(c *Config) { c.Dev = true; c.Keys = c.Keys[:1] }, ""},
		{"fail/kid-empty", key(1, func(k *Key) { k.Kid = "" }), "keys[1].kid"},
		{"fail/kid-used-twice", add(Key{Kid: "es-1", Alg: AlgES256, State: KeyStateNext, File: "."}), "keys[2].kid"},
		{"fail/alg-hs256", key(0, func(k *Key) { k.Alg = "HS256" }), "keys[0].alg"},
		{"fail/alg-lower-case", key(0, func(k *Key) { k.Alg = "es256" }), "keys[0].alg"},
		{"fail/state-unknown", key(0, func(k *Key) { k.State = "enabled" }), "keys[0].state"},
		{"fail/two-active-es256", add(Key{Kid: "es-2", Alg: AlgES256, State: KeyStateActive, File: "."}), "keys[2].state"},
		{"fail/file-missing", key(0, func(k *Key) { k.File = "" }), "keys[0].file"},
		{"fail/file-unreadable", key(0, func(k *Key) { k.File = filepath.Join(t.TempDir(), "nope.pem") }), "keys[0].file"},
		{"fail/file-is-empty", key(0, func(k *Key) { k.File = writeFile(t, t.TempDir(), "empty.pem", "") }), "keys[0].file"},
		{"fail/no-active-key", func(c *Config) {
			for i := range c.Keys {
				c.Keys[i].State = KeyStateRetired
			}
		}, "keys"},
		{"fail/no-keys", func(c *Config) { c.Keys = nil }, "keys"},
		{"fail/no-active-key-for-id-tokens", func(c *Config) { c.Keys = c.Keys[:1] }, "tokens.id_token_alg"},
		{"fail/no-active-key-for-access-tokens", func(c *Config) { c.Keys[0].State = KeyStateNext }, "tokens.access_token_alg"},
		{"fail/no-active-key-for-client-alg", func(c *Config) { c.Clients[0].IDTokenSigningAlg = AlgEdDSA }, "clients[0].id_token_signing_alg"},
	})
}
