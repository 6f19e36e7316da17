package httpx

import (
	"net/http"
	"path"
	"strings"
)

// JSONFallback serves mux, except that under one of the path prefixes (e.g. "/api/") a request
// mux has no route for gets a JSON error body, as every other answer there, instead of
// [http.ServeMux]'s text: 404 not_found, or 405 method_not_allowed with mux's Allow header. A
// path under those prefixes that is not in canonical form (an empty, "." or ".." segment, e.g.
// /api/v1/representations//stop) is answered 404 too: ServeMux would redirect it to the cleaned
// path, a different resource than the one the client named.
func JSONFallback(mux *http.ServeMux, prefixes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !underAny(r.URL.Path, prefixes) {
			mux.ServeHTTP(w, r)
			return
		}
		if !canonicalPath(r.URL.Path) {
			WriteError(w, http.StatusNotFound, "not_found", "No such endpoint: the path has an empty, \".\" or \"..\" segment.")
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // (again, so that the request gets its path values)
			return
		}
		// ServeMux's own 404 or 405: keep its status and Allow header, not its text.
		var got statusOnly
		got.h = http.Header{}
		h.ServeHTTP(&got, r)
		if got.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", got.h.Get("Allow"))
			WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed",
				"This endpoint does not answer "+r.Method+"; it answers "+got.h.Get("Allow")+".")
			return
		}
		WriteError(w, http.StatusNotFound, "not_found", "No such endpoint.")
	})
}

func underAny(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// canonicalPath reports whether p is what ServeMux would leave as it is: path.Clean's result, with
// a trailing slash kept.
func canonicalPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// statusOnly records the status and header a handler writes and drops its body.
type statusOnly struct {
	h      http.Header
	status int
}

func (s *statusOnly) Header() http.Header { return s.h }
func (s *statusOnly) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusOnly) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}
