package httpx

import "crypto/rand"

// HeaderRequestID is the request and response header that carries the request id.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds an inbound request id.
const maxRequestIDLen = 64

// requestID returns the inbound id if it is acceptable, else a fresh one.
func requestID(inbound string) string {
	if validRequestID(inbound) {
		return inbound
	}
	return newRequestID()
}

// newRequestID returns 128 random bits as 26 base32 characters.
func newRequestID() string {
	return rand.Text()
}

// validRequestID accepts 1 to 64 characters of [A-Za-z0-9._-]: enough for the ids proxies and clients
// generate (UUIDs, hex, base32), and nothing that could forge a log line or a header.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
