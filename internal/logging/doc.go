// Package logging builds actas's [log/slog] logger and keeps secrets out of it.
//
// It owns three things:
//
//   - [New], the one constructor cmd calls: JSON (the default) or text output at a given level, with a
//     handler that adds the request id of the current request to every record and a last-line defence
//     that redacts attributes whose key names a credential (password, client_secret, access_token, …).
//   - The request id in a [context.Context] ([WithRequestID], [RequestID]) under an unexported key type.
//     The context carries only request-scoped values; never the logger itself.
//   - [Secret], a string type that renders as "[redacted]" in logs and in fmt output, for values that
//     must be kept in memory but never written out.
//
// Callers log a token's jti, never the token; a user id, never a password. The redaction here is a net
// under that rule, not a replacement for it: it matches attribute keys, not values.
//
// logging imports only the standard library.
package logging
