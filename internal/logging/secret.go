package logging

import (
	"log/slog"
	"strings"
)

// Redacted is what a [Secret] and a redacted attribute render as.
const Redacted = "[redacted]"

// Secret is a string that must never be written out: it logs as "[redacted]" through slog
// ([slog.LogValuer], also inside structs), prints as "[redacted]" through fmt's %v, %s, %q and %#v, and
// encodes as "[redacted]" through encoding/json, YAML and anything else that uses
// [encoding.TextMarshaler] (so an effective config printed for an operator stays redacted).
//
// Decoding into a Secret still works (it is a string kind and has no UnmarshalText). Use string(s)
// where the value itself is needed (to compare a hash, to sign); a response that must carry the value
// encodes a plain string, never a Secret — that is the point.
type Secret string

// LogValue implements [slog.LogValuer].
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String implements [fmt.Stringer].
func (Secret) String() string { return Redacted }

// MarshalText implements [encoding.TextMarshaler]; it never returns the value.
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// GoString implements [fmt.GoStringer], so %#v does not print the value either.
func (Secret) GoString() string { return Redacted }

// sensitiveKeys are attribute keys (compared case-insensitively, after mapping '-' to '_') whose values
// are replaced by "[redacted]" whatever their type. The list names credentials that OAuth requests and
// responses carry; "code" is not on it because it also names status codes, so log an authorization
// code's presence, not the code.
var sensitiveKeys = map[string]bool{
	"password":      true,
	"passwd":        true,
	"secret":        true,
	"client_secret": true,
	"token":         true,
	"access_token":  true,
	"refresh_token": true,
	"id_token":      true,
	"subject_token": true,
	"actor_token":   true,
	"assertion":     true,
	"code_verifier": true,
	"authorization": true,
	"cookie":        true,
	"set_cookie":    true,
	"totp":          true,
	"totp_secret":   true,
	"otp":           true,
}

// IsSensitiveKey reports whether an attribute with this key is redacted by loggers built with [New].
func IsSensitiveKey(key string) bool {
	return sensitiveKeys[strings.ReplaceAll(strings.ToLower(key), "-", "_")]
}

// redactAttr is the slog.HandlerOptions.ReplaceAttr of loggers built with New.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindGroup && IsSensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return a
}
