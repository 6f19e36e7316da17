package keys

import (
	"net/http"
	"strconv"
	"strings"
)

// JWKSPath is where the JWKS is served (the jwks_uri of discovery).
const JWKSPath = "/.well-known/jwks.json"

// JWKSMaxAge is how long relying parties may cache the JWKS. A key must stay next for at least this
// long before it becomes active, so every cache has seen it before tokens signed with it arrive.
const JWKSMaxAge = 300

// JWKSHandler serves the current set's JWKS (RFC 7517 §5; see [Set.JWKS]) for GET and HEAD with
// Content-Type application/json, "Cache-Control: public, max-age=300" and an ETag (a matching
// If-None-Match gets 304). Other methods get 405. Without a set it answers 503. Mount it at
// [JWKSPath]; it does not look at the path.
func JWKSHandler(h *Holder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		set := h.Load()
		if set == nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "no signing keys loaded", http.StatusServiceUnavailable)
			return
		}
		etag := set.jwksETag
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
		w.Header().Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(set.jwksJSON)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(set.jwksJSON)
	})
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
