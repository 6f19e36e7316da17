package httpx

import (
	"net/http"
	"path"
	"strings"
)

// JSONFallback serves mux, except that under one of the path prefixes (e.g. "/api/") a request
// mux has no route for gets a JSON error body, as every other answer there, instead of
// [http.ServeMux]'s text: 404 not_found, or 405 method_not_allowed with the Allow header. A
// path under those prefixes that is not in canonical form (an empty, "." or ".." segment, e.g.
// /api/v1/representations//stop) is answered 404 too: ServeMux would redirect it to the cleaned
// path, a different resource than the one the client named.
//
// It registers each prefix on mux as a catch-all, which ServeMux picks only when no more specific
// pattern matches: a routed request costs one more check of its path, nothing else.
func JSONFallback(mux *http.ServeMux, prefixes ...string) http.Handler {
	for _, pre := range prefixes {
		mux.HandleFunc(pre, func(w http.ResponseWriter, r *http.Request) { unrouted(mux, pre, w, r) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canonicalPath(r.URL.Path) && underAny(r.URL.Path, prefixes) {
			WriteError(w, http.StatusNotFound, "not_found", "No such endpoint: the path has an empty, \".\" or \"..\" segment.")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// probeMethods are the methods unrouted looks for, in the order Allow lists them.
var probeMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// unrouted answers a request that only mux's catch-all pre matched: 405 with the methods some
// other route takes at this path, else 404.
func unrouted(mux *http.ServeMux, pre string, w http.ResponseWriter, r *http.Request) {
	r.Pattern = "" // for the metrics and the access log, as unmatched as before
	var allow []string
	for _, m := range probeMethods {
		if _, p := mux.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); p != "" && p != pre {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		WriteError(w, http.StatusNotFound, "not_found", "No such endpoint.")
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed",
		"This endpoint does not answer "+r.Method+"; it answers "+strings.Join(allow, ", ")+".")
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
