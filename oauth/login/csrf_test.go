package login

import (
	"net/http"
	"net/url"
	"testing"
)

func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name    string
		token   func(b *browser) string
		headers []string
		want    int
	}{
		{name: "ok/same-origin", token: func(b *browser) string { return b.loginPage(testReturnTo) },
			headers: []string{"Origin", h.srv.URL, "Sec-Fetch-Site", "same-origin"}, want: http.StatusSeeOther},
		{name: "fail/missing-token", token: func(b *browser) string { b.loginPage(testReturnTo); return "" }, want: http.StatusForbidden},
		{name: "fail/wrong-token", token: func(b *browser) string { b.loginPage(testReturnTo); return randomID() }, want: http.StatusForbidden},
		{name: "fail/no-cookie", token: func(*browser) string { return randomID() }, want: http.StatusForbidden},
		{name: "fail/cross-origin-header", token: func(b *browser) string { return b.loginPage(testReturnTo) },
			headers: []string{"Origin", "https://evil.example"}, want: http.StatusForbidden},
		{name: "fail/cross-site-fetch", token: func(b *browser) string { return b.loginPage(testReturnTo) },
			headers: []string{"Sec-Fetch-Site", "cross-site"}, want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := h.browser()
			r := b.post("/login", url.Values{
				"csrf": {tt.token(b)}, "return_to": {testReturnTo}, "username": {"alice"}, "password": {"correct horse"},
			}, tt.headers...)
			wantStatus(t, r, tt.want)
			ls, _ := b.session()
			if (ls != nil) != (tt.want == http.StatusSeeOther) {
				t.Fatalf("session %+v after status %d", ls, r.status)
			}
			if tt.want == http.StatusForbidden && r.header.Get("X-Frame-Options") != "DENY" {
				t.Fatal("refusal page without security headers")
			}
		})
	}
}
