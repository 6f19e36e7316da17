package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"golang.org/x/text/language"
)

// FuzzParseStreamID: ParseStreamID never panics; it fails only with ErrInvalidArgument, and an
// accepted position is canonical: its String() is the input itself (no leading zeros, no sign).
func FuzzParseStreamID(f *testing.F) {
	for _, s := range []string{"0-0", "1700000000000-0", "1700000000000-17", "18446744073709551615-18446744073709551615",
		"18446744073709551616-0", "01-0", "1-01", "+1-0", "1--1", "1-", "-1", "1", "", " 1-0", "1_0-0", "0x1-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseStreamID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) || id != (StreamID{}) {
				t.Fatalf("ParseStreamID(%q) = %v, %v", s, id, err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseStreamID(%q).String() = %q", s, got)
		}
		if id.Compare(id) != 0 {
			t.Fatalf("%v does not compare equal to itself", id)
		}
		_ = id.Time()
		if next := (StreamID{MS: id.MS, Seq: id.Seq + 1}); id.Seq < ^uint64(0) && (id.Compare(next) != -1 || next.Compare(id) != 1) {
			t.Fatalf("%v is not before %v", id, next)
		}
	})
}

// FuzzDecodeStored: decodeStored never panics on junk; a record it decodes encodes again as a
// fixed point (decode, encode, decode, encode gives the same bytes), and what toRequest reads from
// it besides the client (scopes, audiences, form, language) does not panic either.
func FuzzDecodeStored(f *testing.F) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	good := &storedRequest{ID: "req-1", RequestedAt: at, ClientID: "console", RequestedScope: []string{"openid", "api"},
		GrantedScope: []string{"openid"}, RequestedAudience: []string{"api"}, GrantedAudience: []string{"api"},
		Form: url.Values{"grant_type": {"authorization_code"}, "audience": {"a", "b"}}, Session: json.RawMessage(`{"subject":"u-bob"}`),
		Lang: "en-GB", Active: true, Exp: at.Add(time.Hour), AccessKey: "tok:at:abc"}
	b, err := json.Marshal(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"id":"x","requested_at":"2026-03-02T09:00:00+01:00","session":null,"active":false,"exp":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"form":{"a":null,"b":[""]},"scopes":null,"lang":"x-klingon-!!"}`))
	f.Add([]byte(`{"session":"not an object","lang":"zh-Hant-TW-u-ca-chinese"}`))
	f.Add([]byte(`{"form":"x"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sr, err := decodeStored(raw)
		if err != nil {
			if sr != nil {
				t.Fatal("both a record and an error")
			}
			return
		}
		_ = args(sr.RequestedScope).Has("openid")
		_ = args(sr.GrantedAudience)
		_ = sr.Form.Encode()
		if sr.Lang != "" {
			if tag, err := language.Parse(sr.Lang); err == nil {
				_ = tag.String()
			}
		}
		b1, err := json.Marshal(sr)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		sr2, err := decodeStored(b1)
		if err != nil {
			t.Fatalf("an encoded record does not decode: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(sr2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("not a fixed point (%v):\n%s\n%s", err, b1, b2)
		}
		if sr.ID != sr2.ID || sr.ClientID != sr2.ClientID || sr.Active != sr2.Active || !sr.Exp.Equal(sr2.Exp) ||
			!sr.RequestedAt.Equal(sr2.RequestedAt) || sr.AccessKey != sr2.AccessKey {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", sr, sr2)
		}
	})
}
