package httpx

import (
	"strings"
	"testing"
)

// FuzzValidRequestID: an accepted inbound request id is 1 to maxRequestIDLen bytes of
// [A-Za-z0-9._-] (so it cannot forge a log line or a header), and requestID keeps exactly the
// accepted ones and replaces the rest with a fresh, itself valid, id.
func FuzzValidRequestID(f *testing.F) {
	f.Add("0b9c6a0e-1f4e-4c4b-9a43-3f1f3c2a9d11")
	f.Add("01HZX3J8K2M4N6P8Q0R2S4T6V8")
	f.Add("req.1_2-3")
	f.Add(strings.Repeat("a", maxRequestIDLen))
	f.Add(strings.Repeat("a", maxRequestIDLen+1))
	f.Add("id\r\nX-Injected: 1")
	f.Add("id with space")
	f.Add("é")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ok := validRequestID(s)
		if ok {
			if s == "" || len(s) > maxRequestIDLen {
				t.Fatalf("accepted an id of %d bytes", len(s))
			}
			if i := strings.IndexFunc(s, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
			}); i >= 0 {
				t.Fatalf("accepted %q with %q at %d", s, s[i], i)
			}
		}
		id := requestID(s)
		if ok && id != s {
			t.Fatalf("requestID replaced the valid %q with %q", s, id)
		}
		if !ok && (id == s || !validRequestID(id)) {
			t.Fatalf("requestID(%q) = %q", s, id)
		}
	})
}
