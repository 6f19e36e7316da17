package logging

import "context"

// requestIDKey is the unexported context key type for the request id (STYLE §9).
type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying the request id id. The HTTP middleware
// (internal/httpx.Wrap) sets it once per request; code that starts background work on behalf of a
// request may copy it to the new context so the work's log lines can be correlated.
//
// The id must not be secret: it is echoed to the client and written on every log line.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "" if there is none.
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
