package audit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// FuzzParseFilter: parseFilter never panics on any query string. It accepts only the known
// parameters, each exactly once, not empty and at most MaxIDLen bytes, with RFC 3339 since/until
// and a positive limit, and the filter holds exactly those values.
func FuzzParseFilter(f *testing.F) {
	f.Add("actor=u-1&target=u-2&type=token.exchanged&representation=AAAAAAAAAAAAAAAAAAAAAA&limit=50")
	f.Add("since=2026-03-02T09:00:00Z&until=2026-03-02T10:00:00.123456789%2B02:00&cursor=1700000000000-0")
	f.Add("limit=0")
	f.Add("limit=-1")
	f.Add("limit=99999999999999999999")
	f.Add("actor=a&actor=b")
	f.Add("Actor=a")
	f.Add("since=yesterday")
	f.Add("since=2026-03-02")
	f.Add("%zz=1")
	f.Add("a=%zz")
	f.Add("representation=")
	f.Add("actor=u-1&target")
	f.Add("")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		flt, err := parseFilter(r)
		if err != nil {
			return
		}
		q := r.URL.Query()
		for k, vs := range q {
			if len(vs) != 1 || vs[0] == "" || len(vs[0]) > MaxIDLen {
				t.Fatalf("accepted %q = %q", k, vs)
			}
		}
		want := map[string]string{"actor": flt.Actor, "target": flt.Target, "type": flt.Type,
			"representation": flt.Representation, "cursor": flt.Cursor}
		for k, got := range want {
			if q.Get(k) != got {
				t.Fatalf("%s %q read as %q", k, q.Get(k), got)
			}
		}
		for k := range q {
			switch k {
			case "actor", "target", "type", "representation", "cursor", "since", "until", "limit":
			default:
				t.Fatalf("accepted the unknown parameter %q", k)
			}
		}
		for k, tm := range map[string]time.Time{"since": flt.Since, "until": flt.Until} {
			if v, has := q[k]; has {
				want, err := time.Parse(time.RFC3339Nano, v[0])
				if err != nil || !want.Equal(tm) {
					t.Fatalf("%s %q read as %v", k, v[0], tm)
				}
			} else if !tm.IsZero() {
				t.Fatalf("%s set without the parameter", k)
			}
		}
		if v, has := q["limit"]; has {
			if n, err := strconv.Atoi(v[0]); err != nil || n < 1 || n != flt.Limit {
				t.Fatalf("limit %q read as %d", v[0], flt.Limit)
			}
		} else if flt.Limit != 0 {
			t.Fatalf("limit %d without the parameter", flt.Limit)
		}
	})
}

// FuzzParseTime: parseTime accepts exactly what time.Parse(RFC3339Nano) does; an accepted time
// formats back (RFC3339Nano) into a string that parses to the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-03-02T09:00:00Z", "2026-03-02T09:00:00.123456789+05:30", "2026-03-02T09:00:00,5Z",
		"2026-03-02t09:00:00z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59", "2026-02-30T00:00:00Z",
		"2026-03-02T24:00:00Z", "2026-03-02 09:00:00Z", "", "now"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tm, err := parseTime("since", v)
		ref, rerr := time.Parse(time.RFC3339Nano, v)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("parseTime(%q): %v, time.Parse: %v", v, err, rerr)
		}
		if err != nil {
			if !tm.IsZero() {
				t.Fatalf("refused %q but returned %v", v, tm)
			}
			return
		}
		if !tm.Equal(ref) {
			t.Fatalf("parseTime(%q) = %v, want %v", v, tm, ref)
		}
		back, err := time.Parse(time.RFC3339Nano, tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("%q → %v → %q does not parse back (%v)", v, tm, tm.Format(time.RFC3339Nano), err)
		}
	})
}
