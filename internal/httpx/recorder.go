package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// securityHeaders are set on every response unless the handler set its own value.
var securityHeaders = [...][2]string{
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", "frame-ancestors 'none'"},
}

// recorder wraps the ResponseWriter for one request: it remembers status and size, adds the baseline
// headers when the header is written, and, once the request body went past its limit, replaces
// whatever the handler answers by 413 (see Wrap). It is used from the handler's goroutine only.
type recorder struct {
	w         http.ResponseWriter
	requestID string
	body      *limitedBody // nil when there is no limit

	status      int
	bytes       int64
	wroteHeader bool
	discard     bool // the handler's answer was replaced; drop its body
	hijacked    bool
}

var (
	_ http.ResponseWriter = (*recorder)(nil)
	_ http.Flusher        = (*recorder)(nil)
	_ http.Hijacker       = (*recorder)(nil)
)

func (rec *recorder) Header() http.Header { return rec.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.w }

func (rec *recorder) WriteHeader(code int) {
	if rec.wroteHeader || rec.hijacked {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rec.w.WriteHeader(code) // informational (e.g. 103 Early Hints): the final header follows
		return
	}
	rec.wroteHeader = true
	if rec.body != nil && rec.body.exceeded() && code != http.StatusRequestEntityTooLarge {
		// The handler answered something else after the limit was hit: answer 413 instead.
		clear(rec.w.Header())
		rec.finishHeader()
		rec.status = http.StatusRequestEntityTooLarge
		rec.discard = true
		WriteTooLarge(writerOnly{rec.w, &rec.bytes})
		return
	}
	rec.finishHeader()
	rec.status = code
	rec.w.WriteHeader(code)
}

// finishHeader sets the request id and the security headers the handler did not set.
func (rec *recorder) finishHeader() {
	h := rec.w.Header()
	h.Set(HeaderRequestID, rec.requestID)
	for _, kv := range securityHeaders {
		if h.Get(kv[0]) == "" {
			h.Set(kv[0], kv[1])
		}
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.discard {
		return len(b), nil
	}
	n, err := rec.w.Write(b)
	rec.bytes += int64(n)
	return n, err
}

func (rec *recorder) Flush() {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rec.w).Flush()
}

func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(rec.w).Hijack()
	if err == nil {
		rec.hijacked = true
		if !rec.wroteHeader {
			rec.status = http.StatusSwitchingProtocols
		}
	}
	return conn, rw, err
}

// writerOnly writes to the underlying writer and counts bytes; it is how the recorder answers on its
// own behalf.
type writerOnly struct {
	w     http.ResponseWriter
	count *int64
}

func (wo writerOnly) Header() http.Header  { return wo.w.Header() }
func (wo writerOnly) WriteHeader(code int) { wo.w.WriteHeader(code) }
func (wo writerOnly) Write(b []byte) (int, error) {
	n, err := wo.w.Write(b)
	*wo.count += int64(n)
	return n, err
}

// limitedBody is the request body behind http.MaxBytesReader; it notes when a read failed because the
// limit was passed. The flag is atomic because a handler may read the body on another goroutine.
type limitedBody struct {
	rc  io.ReadCloser
	hit atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && IsTooLarge(err) {
		b.hit.Store(true)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func (b *limitedBody) exceeded() bool { return b.hit.Load() }
