package audit_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/audit"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func TestCanonical(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		e    audit.Event
		want string
	}{
		{"ok/minimal", audit.Event{ID: "e1", Time: t0, Type: audit.TypeLoginFailed},
			`{"id":"e1","time":"2025-03-14T09:26:53.589793000Z","type":"login.failed"}`},
		{"ok/sorted-members-and-detail", audit.Event{ID: "e2", Time: t0, Type: audit.TypeExchangeGranted, Actor: "a", Target: "b",
			Client: "c", Decision: "allow", PrevHash: "p", Hash: "ignored", Detail: map[string]string{"z": "1", "a": "2", "form": "x"}},
			`{"actor":"a","client":"c","decision":"allow","detail":{"a":"2","form":"x","z":"1"},"id":"e2","prev_hash":"p","target":"b","time":"2025-03-14T09:26:53.589793000Z","type":"token_exchange.granted"}`},
		{"ok/time-in-utc-nine-digits", audit.Event{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Type: "t"},
			`{"time":"2025-01-02T02:04:05.000000000Z","type":"t"}`},
		{"ok/jcs-escaping", audit.Event{Type: "t", ReasonText: "quote\" back\\ tab\t nl\n ctl\x01 <&> é ☃ \u2028"},
			`{"reason_text":"quote\" back\\ tab\t nl\n ctl\u0001 <&> é ☃ ` + "\u2028" + `","type":"t"}`},
		{"ok/invalid-utf8-replaced", audit.Event{Type: "t", Actor: "a\xffb"}, `{"actor":"a` + "\ufffd" + `b","type":"t"}`},
		{"ok/empty-detail-omitted", audit.Event{Type: "t", Detail: map[string]string{}}, `{"type":"t"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := string(audit.Canonical(tc.e))
			if got != tc.want {
				t.Fatalf("Canonical =\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
}

// TestHashOf pins the hash function: SHA-256, lowercase hex.
func TestHashOf(t *testing.T) {
	t.Parallel()
	if got := audit.HashOf([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashOf(abc) = %s", got)
	}
}

// TestJSONRoundTrip: the JSON form is the canonical encoding plus "hash"; decoding it and
// re-encoding gives the same bytes, and dropping "hash" gives back the canonical bytes.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	e := grant(7)
	e.ID, e.Time, e.PrevHash = "e7", t0, strings.Repeat("a", 64)
	e.Hash = audit.HashOf(audit.Canonical(e))
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back audit.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Time.Equal(e.Time) || back.Hash != e.Hash || back.Detail["form"] != "impersonation" {
		t.Fatalf("round trip = %+v", back)
	}
	if b2 := mustMarshal(t, back); !bytes.Equal(b2, mustMarshal(t, e)) {
		t.Fatalf("re-encoding differs:\n%s\n%s", b2, b)
	}
	back.Hash = ""
	if !bytes.Equal(audit.Canonical(back), audit.Canonical(e)) {
		t.Fatalf("canonical of the decoded event differs")
	}
	if audit.HashOf(audit.Canonical(back)) != e.Hash {
		t.Fatal("hash of the decoded event differs")
	}
}

func mustMarshal(t *testing.T, e audit.Event) []byte {
	t.Helper()
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalBadTime(t *testing.T) {
	t.Parallel()
	var e audit.Event
	if err := json.Unmarshal([]byte(`{"type":"t","time":"yesterday"}`), &e); err == nil {
		t.Fatal("a bad time decoded")
	}
}
