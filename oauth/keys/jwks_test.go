package keys

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	jose4 "github.com/go-jose/go-jose/v4"
)

func serveJWKS(t *testing.T, h *Holder, method string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, JWKSPath, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	JWKSHandler(h).ServeHTTP(rec, req)
	return rec.Result()
}

func TestJWKSHandler(t *testing.T) {
	t.Parallel()
	h := NewHolder(stdSet(t))

	resp := serveJWKS(t, h, http.MethodGet, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("Cache-Control %q", cc)
	}
	var set jose4.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("body is not a JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm == "" {
			t.Fatalf("key %q: public %v use %q alg %q", k.KeyID, k.IsPublic(), k.Use, k.Algorithm)
		}
	}
	if !slices.Equal(kids, []string{"ed-active", "es-active", "rs-active", "es-next", "es-retired"}) {
		t.Fatalf("kids %v", kids)
	}

	etag := resp.Header.Get("ETag")
	t.Run("ok/if-none-match", func(t *testing.T) {
		r := serveJWKS(t, h, http.MethodGet, map[string]string{"If-None-Match": `"other", W/` + etag})
		if r.StatusCode != http.StatusNotModified {
			t.Fatalf("status %d, want 304", r.StatusCode)
		}
	})
	t.Run("ok/head", func(t *testing.T) {
		r := serveJWKS(t, h, http.MethodHead, nil)
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK || len(b) != 0 || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("HEAD: status %d, %d body bytes", r.StatusCode, len(b))
		}
	})
	t.Run("fail/post", func(t *testing.T) {
		r := serveJWKS(t, h, http.MethodPost, nil)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("POST: status %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
		}
	})
	t.Run("fail/no-set", func(t *testing.T) {
		r := serveJWKS(t, &Holder{}, http.MethodGet, nil)
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", r.StatusCode)
		}
	})
	t.Run("ok/rotation-changes-document", func(t *testing.T) {
		h2 := NewHolder(stdSet(t))
		h2.Store(mustSet(t, testKey(t, ES256, 0, "only", StateActive)))
		r := serveJWKS(t, h2, http.MethodGet, nil)
		var s jose4.JSONWebKeySet
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || len(s.Keys) != 1 || s.Keys[0].KeyID != "only" {
			t.Fatalf("after rotation: %v keys (%v)", len(s.Keys), err)
		}
		if r.Header.Get("ETag") == etag {
			t.Fatal("ETag unchanged after rotation")
		}
	})
}
