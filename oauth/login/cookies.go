package login

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
)

// idBytes is the entropy of every random id and token this package makes (session ids, pending ids,
// CSRF tokens): 256 bits, well above the 128 the session cookie needs.
const idBytes = 32

// randomID returns idBytes random bytes, base64url without padding (43 characters).
func randomID() string {
	b := make([]byte, idBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24 crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormedID reports whether v looks like a randomID, so junk never reaches storage.
func wellFormedID(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	// The decoder skips CR and LF even in strict mode: 43 characters holding a newline would
	// decode to fewer bytes.
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil && len(b) == idBytes
}

// equalToken compares a submitted token with the expected one in constant time; an empty expected
// token never matches.
func equalToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// hashID turns a user-controlled string into a fixed-size record id (hex of SHA-256, 128 bits).
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (s *Service) csrfCookieName() string    { return s.cookie + "_csrf" }
func (s *Service) pendingCookieName() string { return s.cookie + "_pending" }

// setCookie sets a cookie holding only a random id: HttpOnly, SameSite=Lax, Secure unless
// InsecureCookies, Path=/ (as the __Host- prefix requires). maxAge 0 makes a browser-session cookie.
func (s *Service) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !s.insecure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter, name string) { s.setCookie(w, name, "", -1) }

// cookieID returns the named cookie's value if it is a well-formed id.
func cookieID(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil || !wellFormedID(c.Value) {
		return "", false
	}
	return c.Value, true
}

// remoteIP is the default Options.ClientIP: the host part of RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ipKey is the rate-limit key of an address: the address itself for IPv4, its /64 for IPv6 (one
// host usually holds a whole /64).
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
