// Package httpx is actas's HTTP serving infrastructure, shared by every listener.
//
// It owns:
//
//   - [Wrap], the one middleware around every handler: request id (X-Request-Id), panic recovery,
//     request body limit, baseline security headers, Prometheus metrics by route template and one access
//     log line per request (method, route, status, duration, bytes, request id, remote address; never the
//     query string, headers or body, which can carry codes and tokens).
//   - OAuth-style JSON errors in one place ([WriteError], [StorageUnavailable], [WriteTooLarge]) so that
//     every endpoint answers faults the same way (RFC 6749 §5.2 error shape).
//   - [Metrics], a private Prometheus registry (never the global one) served at /metrics.
//   - [Readiness], background checks (storage reachable, keys loaded) behind /readyz, and draining.
//   - [OpsHandler] (/healthz, /readyz, /metrics), [NewServer] with timeouts on everything, and [Run],
//     which binds every listener first, serves, and shuts down gracefully: readiness red, a drain delay,
//     then [net/http.Server.Shutdown] that lets in-flight requests finish.
//
// Routes (the ops listener, see [OpsHandler]):
//
//	GET /healthz  200 {"status":"ok"} while the process runs
//	GET /readyz   200 {"status":"ready"} | 503 {"status":"not_ready","reason":"storage: ..."}
//	GET /metrics  Prometheus text exposition
//
// httpx imports only the standard library, github.com/prometheus/client_golang,
// internal/logging (request id in the context) and storage (for [storage.ErrUnavailable] only). It knows
// nothing of OAuth beyond the error body shape.
package httpx
