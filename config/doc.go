// Package config owns actas's configuration: the typed structs, the defaults (including the fixed
// demo data set of --dev), loading with viper from a YAML file, ACTAS_* environment variables and
// command-line flags, and validation with errors that name the key.
//
// # Precedence
//
// Lowest to highest: built-in defaults ([Default]) < dev defaults ([Dev], only with
// LoadOptions.Dev) < the YAML file < ACTAS_* environment variables < flags. Lists (clients, users,
// keys, …) come from the file or the defaults only; a list in the file replaces the default list as a
// whole.
//
// # Environment
//
// Every scalar key (string, number, boolean, duration) can be overridden by ACTAS_<PATH>, the
// dotted key upper-cased with dots replaced by underscores: storage.redis.key_prefix is
// ACTAS_STORAGE_REDIS_KEY_PREFIX. The map from variable to key is built from the known keys, never
// by splitting the name. A set ACTAS_* variable that names no key is an error, so a typo cannot
// silently fall back to a default; variables starting with ACTAS_TEST_ belong to the test helpers
// and are ignored. An empty value means "not set".
//
// # Secrets in files
//
// Every secret has a *_file variant (secrets.global_file, secrets.previous_files,
// storage.redis.password_file, clients[].secret_file). [Load] reads the file, trims the trailing
// newline, and stores the content in the plain field, so that consumers only ever read the plain
// field. Relative paths in the config file are relative to the file's directory; paths from
// environment variables or flags are relative to the working directory. After [Load], every path
// (including keys[].file) is absolute.
//
// # What it must not do
//
// config is the only package that imports viper, and it imports nothing of actas: cmd/actas turns
// a [Config] into each package's own options struct. It never logs, and its errors never contain a
// secret value.
//
// The policy: section (impersonation rules, issue #5) is not defined yet; until it is, a policy:
// key in a file is reported as unknown.
package config
