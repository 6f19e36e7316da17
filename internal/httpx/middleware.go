package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/actas-dev/actas/internal/logging"
)

// DefaultMaxBodyBytes is the request body limit when WrapOptions.MaxBodyBytes is 0: far above any
// OAuth form or JSON body actas accepts, far below what would cost memory.
const DefaultMaxBodyBytes = 1 << 20

// WrapOptions configures [Wrap]. The zero value is usable: no access log, no metrics, a 1 MiB body limit.
type WrapOptions struct {
	// Logger receives the access log line and panic reports. nil: no access log, panics go to
	// slog.Default(). Build it with logging.New so every line of the handlers carries the request id.
	Logger *slog.Logger
	// Metrics records request counts and latency by route template. nil: none.
	Metrics *Metrics
	// MaxBodyBytes limits every request body (http.MaxBytesReader). 0 means DefaultMaxBodyBytes;
	// a negative value disables the limit.
	MaxBodyBytes int64
}

// Wrap returns h wrapped in actas's shared middleware. For each request it:
//
//   - keeps a well-formed inbound X-Request-Id (1 to 64 of [A-Za-z0-9._-]) or makes a new 128-bit random
//     one, puts it in the context ([logging.WithRequestID]) and in the X-Request-Id response header;
//   - limits the body to o.MaxBodyBytes; a handler that fails to read it ([IsTooLarge]) should answer
//     [WriteTooLarge], and whatever it answers instead is replaced by that 413;
//   - sets X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY and
//     Content-Security-Policy: frame-ancestors 'none', each unless the handler set its own;
//   - recovers a panic: logs it with the request id and answers 500 {"error":"server_error"} without
//     detail (if the answer had already started, the connection is aborted instead);
//   - records actas_http_requests_total and actas_http_request_duration_seconds by route template and
//     logs one access line: method, route, status, duration, bytes, request id, remote address. Never
//     the path, query string, headers or body: they can carry codes and tokens.
//
// The route template is the pattern the [http.ServeMux] matched (r.Pattern, e.g. "/oauth2/token" for
// "POST /oauth2/token"), read after h returned; RouteUnmatched when nothing matched. For it to be seen,
// h must be the ServeMux or pass the *http.Request it was given on to it: a handler in between that
// calls r.WithContext hands the mux a copy, and its route is then reported as RouteUnmatched.
func Wrap(h http.Handler, o WrapOptions) http.Handler {
	limit := o.MaxBodyBytes
	if limit == 0 {
		limit = DefaultMaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(HeaderRequestID))
		r = r.WithContext(logging.WithRequestID(r.Context(), id))
		rec := &recorder{w: w, requestID: id}
		w.Header().Set(HeaderRequestID, id)
		if limit > 0 && r.Body != nil && r.Body != http.NoBody {
			// The real writer, not rec: MaxBytesReader tells the server to close the connection.
			rec.body = &limitedBody{rc: http.MaxBytesReader(w, r.Body, limit)}
			r.Body = rec.body
		}
		o.Metrics.addInFlight(1)
		defer func() {
			o.Metrics.addInFlight(-1)
			p := recover()
			abort := false
			if p != nil {
				abort = handlePanic(o.Logger, rec, r, p)
			} else if !rec.wroteHeader && !rec.hijacked {
				rec.WriteHeader(http.StatusOK) // implicit 200: still send the baseline headers
			}
			route := routeLabel(r.Pattern)
			method := methodLabel(r.Method)
			d := time.Since(start)
			o.Metrics.observe(route, method, rec.status, d.Seconds())
			accessLog(o.Logger, r, rec, route, method, d)
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// handlePanic logs p and answers 500 if nothing was sent yet. It returns true when the answer had
// already started (or the handler asked to abort): the caller then aborts the connection, so the
// client sees a broken response rather than a truncated one that looks whole.
func handlePanic(log *slog.Logger, rec *recorder, r *http.Request, p any) bool {
	if p == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
		if rec.status == 0 {
			rec.status = http.StatusInternalServerError
		}
		return true
	}
	if log == nil {
		log = slog.Default()
	}
	log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
		slog.String(logging.KeyRequestID, rec.requestID),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())),
	)
	if rec.wroteHeader || rec.hijacked {
		rec.status = http.StatusInternalServerError
		return !rec.hijacked
	}
	clear(rec.w.Header())
	WriteError(rec, http.StatusInternalServerError, ErrCodeServerError, "")
	return false
}

// accessLog writes the one line per request.
func accessLog(log *slog.Logger, r *http.Request, rec *recorder, route, method string, d time.Duration) {
	if log == nil {
		return
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(r.Context(), level, "http request",
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", rec.status),
		slog.Duration("duration", d),
		slog.Int64("bytes", rec.bytes),
		slog.String(logging.KeyRequestID, rec.requestID),
		slog.String("remote_addr", r.RemoteAddr),
	)
}
