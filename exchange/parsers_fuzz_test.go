package exchange

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/ory/fosite"
)

func fuzzB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// fuzzJWT joins a header and payload (JSON text) and a signature as a compact JWS.
func fuzzJWT(hdr, payload, sig string) string {
	return fuzzB64(hdr) + "." + fuzzB64(payload) + "." + sig
}

// FuzzPeekJWT: peekJWT never panics; it accepts only three dot-separated parts within
// MaxTokenSize, and when it accepts, the typ and iss it returns are those of a full JSON decode of
// the header and payload (a missing or null member reads as ""): never a case-folded twin such as
// "ISS", "Typ" or "iſs", which encoding/json's struct decoding would match.
func FuzzPeekJWT(f *testing.F) {
	f.Add(fuzzJWT(`{"alg":"ES256","typ":"at+jwt","kid":"k1"}`, `{"iss":"https://id.example","sub":"u"}`, "sig"), []byte(`{"typ":"JWT"}`), []byte(`{"iss":"https://idp.example"}`))
	f.Add(fuzzJWT(`{"alg":"RS256"}`, `{"sub":"u"}`, ""), []byte(`null`), []byte(`null`))
	f.Add(fuzzJWT(`{"typ":1}`, `{"iss":"x"}`, "s"), []byte(`{"typ":null}`), []byte(`{"iss":["a"]}`))
	f.Add(fuzzJWT(`{"typ":"a","typ":"b"}`, `{"iss":"a","iss":"b"}`, "s"), []byte(`[]`), []byte(`"iss"`))
	f.Add("a.b", []byte(`{}`), []byte(`{}`))
	f.Add("a.b.c.d", []byte(`{"typ":"\ud800"}`), []byte(`{"iss":"\u00e9"}`))
	f.Add("..", []byte(``), []byte(``))
	f.Add(fuzzJWT(`{"TYP":"at+jwt"}`, `{"ISS":"https://idp"}`, "s"), []byte(`{"typ":"JWT","Typ":"at+jwt"}`), []byte(`{"iss":"a","iſs":"b"}`))
	f.Add(fuzzB64(`{"typ":"JWT"}`)+"="+"."+fuzzB64(`{}`)+".", []byte(`{"typ":"JWT"} `), []byte(` {"iss":"x"}`))
	f.Fuzz(func(t *testing.T, raw string, hdr, payload []byte) {
		checkPeek(t, raw)
		checkPeek(t, fuzzB64(string(hdr))+"."+fuzzB64(string(payload))+".sig")
	})
}

func checkPeek(t *testing.T, raw string) {
	t.Helper()
	p, ok := peekJWT(raw)
	if !ok {
		if p != (jwtPeek{}) {
			t.Fatalf("refused %q but returned %+v", raw, p)
		}
		return
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > MaxTokenSize {
		t.Fatalf("accepted %q: %d parts, %d bytes", raw, len(parts), len(raw))
	}
	for i, want := range []struct{ name, got string }{{"typ", p.typ}, {"iss", p.iss}} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("accepted %q whose part %d is not base64url: %v", raw, i, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted %q whose part %d is not a JSON object: %v", raw, i, err)
		}
		v, present := m[want.name]
		full, isString := v.(string)
		switch {
		case present && v != nil && !isString:
			t.Fatalf("accepted %q whose %s is %T", raw, want.name, v)
		case full != want.got:
			t.Fatalf("peekJWT(%q) %s = %q, full decode %q", raw, want.name, want.got, full)
		}
	}
}

// FuzzClaimHelpers: the claim readers never panic on any JSON-decoded claim set (decoded both the
// default way, numbers as float64, and with UseNumber, as json.Number), and keep their promises:
// stringList and scopeClaim/roleList of a string never yield empty strings, a space-separated
// claim never yields an element with white space, numTime accepts only (0, 1e11] seconds in UTC,
// decodeMayAct fails only with ErrMalformedAct and otherwise names a subject, and toToken either
// refuses with an RFC 6749 invalid_request or maps the claims as those helpers read them.
func FuzzClaimHelpers(f *testing.F) {
	f.Add([]byte(`{"iss":"https://idp","sub":"u","aud":["actas"],"exp":1893456000,"scope":"a b  c","amr":["pwd","mfa"],"acr":"1","roles":"admin ops","tenant":"t1","auth_time":1700000000}`))
	f.Add([]byte(`{"sub":"u","scp":["a","",1,"b"],"roles":["x",null],"auth_time":"1700000000","may_act":{"sub":"agent","iss":"https://idp"}}`))
	f.Add([]byte(`{"sub":"u","scp":"a b","amr":"pwd","auth_time":1e12,"may_act":{"sub":""}}`))
	f.Add([]byte(`{"sub":"u","act":{"sub":"a","act":{"sub":"b"}},"may_act":"agent","exp":-1,"auth_time":0.5}`))
	f.Add([]byte(`{"sub":"u","events":{},"nonce":"n"}`))
	f.Add([]byte(`{"sub":"u","nonce":"n","auth_time":1e400}`))
	f.Add([]byte(`{"exp":"soon","aud":"actas","scope":7,"roles":{"a":1},"auth_time":123456789012345678901234567890}`))
	f.Add([]byte(`{}`))
	ti := &trustedIssuer{cfg: TrustedIssuer{Issuer: "https://idp", Claims: ClaimMapping{
		Roles: "roles", Tenant: "tenant", AMR: "amr", ACR: "acr", AuthTime: "auth_time"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var plain map[string]any
		if json.Unmarshal(data, &plain) != nil {
			return
		}
		var numbered map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&numbered) != nil {
			t.Fatalf("UseNumber decode failed where Unmarshal succeeded: %s", data)
		}
		for _, all := range []map[string]any{plain, numbered} {
			for _, v := range all {
				checkClaimValue(t, v)
			}
			for _, sc := range scopeClaim(all) {
				if sc == "" {
					t.Fatalf("scopeClaim(%s): an empty scope", data)
				}
				if _, isStr := all["scp"].(string); isStr || all["scope"] != nil {
					if strings.ContainsAny(sc, " \t\n\r") {
						t.Fatalf("scopeClaim(%s): %q holds white space", data, sc)
					}
				}
			}
			var std josejwt.Claims
			_ = json.Unmarshal(data, &std) // a malformed registered claim leaves std partly empty
			for _, typ := range []string{TokenTypeAccessToken, TokenTypeIDToken} {
				tok, err := ti.toToken(typ, &std, all)
				if err != nil {
					var rfc *fosite.RFC6749Error
					if !errors.As(err, &rfc) || rfc.ErrorField != fosite.ErrInvalidRequest.ErrorField {
						t.Fatalf("toToken(%s): %v is not invalid_request", data, err)
					}
					continue
				}
				if tok.subject != std.Subject || tok.issuer != ti.cfg.Issuer || tok.subjectIssuer != ti.cfg.Issuer {
					t.Fatalf("toToken(%s): %+v", data, tok)
				}
				if !slices.Equal(tok.scopes, scopeClaim(all)) || !slices.Equal(tok.roles, roleList(all["roles"])) ||
					!slices.Equal(tok.amr, stringList(all["amr"])) {
					t.Fatalf("toToken(%s) mapped scopes %q roles %q amr %q", data, tok.scopes, tok.roles, tok.amr)
				}
				for a := tok.act; a != nil; a = a.Act {
					if a.Issuer == "" {
						t.Fatalf("toToken(%s): an act level without iss", data)
					}
				}
			}
		}
	})
}

// checkClaimValue runs every single-value claim reader on v (and on v's members, so that nested
// values are read too).
func checkClaimValue(t *testing.T, v any) {
	t.Helper()
	list := stringList(v)
	if _, isStrings := v.([]string); !isStrings {
		for _, s := range list {
			if s == "" {
				t.Fatalf("stringList(%#v): an empty string", v)
			}
		}
	}
	roles := roleList(v)
	if s, ok := v.(string); ok {
		if !slices.Equal(roles, strings.Fields(s)) {
			t.Fatalf("roleList(%q) = %q", s, roles)
		}
	} else if !slices.Equal(roles, list) {
		t.Fatalf("roleList(%#v) = %q, stringList %q", v, roles, list)
	}
	if tm, ok := numTime(v); ok {
		if tm.Location() != time.UTC || tm.Unix() < 0 || tm.Unix() > 1e11 {
			t.Fatalf("numTime(%#v) = %v", v, tm)
		}
	} else if !tm.IsZero() {
		t.Fatalf("numTime(%#v) refused but returned %v", v, tm)
	}
	m, err := decodeMayAct(v)
	switch {
	case err != nil && !errors.Is(err, ErrMalformedAct):
		t.Fatalf("decodeMayAct(%#v): %v", v, err)
	case err != nil && m != nil:
		t.Fatalf("decodeMayAct(%#v): both %+v and %v", v, m, err)
	case err == nil && v != nil && (m == nil || m.Subject == "" || len(m.Subject) > maxIdentityLen || len(m.Issuer) > maxIdentityLen):
		t.Fatalf("decodeMayAct(%#v) = %+v", v, m)
	case err == nil && m != nil && !m.Allows(m.Subject, m.Issuer):
		t.Fatalf("may_act %+v does not allow its own party", m)
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			checkClaimValue(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkClaimValue(t, e)
		}
	}
}

// FuzzRepParseMember: repParseMember never panics, an accepted member names a valid session id
// and a non-negative time, and the cursor round trip holds: repMember(repParseMember(m)) == m, so
// that each accepted cursor names exactly one index member. (Before 07653a0 this did not hold:
// ParseInt also took upper-case hex and a sign, e.g. "00000000000A.…", "+0000000000a.…",
// "-00000000000.…"; see the fuzzing report.)
func FuzzRepParseMember(f *testing.F) {
	id := "AAAAAAAAAAAAAAAAAAAAAA"
	f.Add(repMember(time.UnixMilli(1_767_225_600_000), id))
	f.Add(repMember(time.UnixMilli(0), id))
	f.Add(repMember(time.UnixMilli(1_767_225_600_000), repCursorID))
	f.Add(repMember(time.UnixMilli(1<<47), "abcdefghij-_0123456789"))
	f.Add("0000000000000." + id)
	f.Add("000000000000" + id)
	f.Add("00000000000g." + id)
	f.Add("000000000000." + id + "x")
	f.Add("000000000000.AAAAAAAAAAAAAAAAAAAAA.")
	f.Add("000000000000.é" + id[2:])
	f.Add("00000000000A." + id) // non-canonical: refused since 07653a0
	f.Add("+0000000000a." + id)
	f.Add("-00000000001." + id)
	f.Add("-00000000000." + id)
	f.Fuzz(func(t *testing.T, m string) {
		tm, sid, ok := repParseMember(m)
		if !ok {
			if !tm.IsZero() || sid != "" {
				t.Fatalf("refused %q but returned %v, %q", m, tm, sid)
			}
			return
		}
		if !repValidID(sid) || !strings.HasSuffix(m, "."+sid) || len(m) != 12+1+22 {
			t.Fatalf("repParseMember(%q) = %v, %q", m, tm, sid)
		}
		if tm.UnixMilli() < 0 || tm.Location() != time.UTC {
			t.Fatalf("repParseMember(%q) = %v", m, tm)
		}
		if back := repMember(tm, sid); back != m {
			t.Fatalf("repParseMember(%q) round-trips to %q", m, back)
		}
	})
}

// FuzzRepFilterOf: repFilterOf never panics; it refuses with a 400 JSON error, and accepts only
// an empty or boolean active and an empty or 1..repMaxLimit limit, keeping the cursor as given.
func FuzzRepFilterOf(f *testing.F) {
	cur := repMember(time.UnixMilli(1_767_225_600_000), "AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", cur, "")
	f.Add("true", "", "50")
	f.Add("0", "junk", "200")
	f.Add("yes", "", "")
	f.Add("", "", "201")
	f.Add("F", "", "0")
	f.Add("", "", "+7")
	f.Add("", "", "99999999999999999999")
	f.Fuzz(func(t *testing.T, active, cursor, limit string) {
		w := httptest.NewRecorder()
		flt, ok := repFilterOf(w, active, cursor, limit)
		if !ok {
			var body struct{ Error string }
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error != "invalid_request" {
				t.Fatalf("refusal: %d %s", w.Code, w.Body)
			}
			return
		}
		if w.Body.Len() != 0 {
			t.Fatalf("accepted but wrote %s", w.Body)
		}
		if flt.Cursor != cursor {
			t.Fatalf("cursor %q became %q", cursor, flt.Cursor)
		}
		if b, err := strconv.ParseBool(active); (active == "") != (flt.Active == nil) || (flt.Active != nil && (err != nil || *flt.Active != b)) {
			t.Fatalf("active %q read as %v", active, flt.Active)
		}
		if (limit == "" && flt.Limit != 0) || (limit != "" && (flt.Limit < 1 || flt.Limit > repMaxLimit)) {
			t.Fatalf("limit %q read as %d", limit, flt.Limit)
		}
	})
}

// FuzzDecodeRep: decodeRep never panics on junk; a record it decodes encodes again, and the
// encoding is a fixed point (decode, encode, decode, encode gives the same bytes). A record built
// by encodeRep decodes back to an equal record.
func FuzzDecodeRep(f *testing.F) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 123_000_000, time.UTC)
	full := &RepSession{ID: "AAAAAAAAAAAAAAAAAAAAAA", Actor: "agent", ActorIssuer: "https://idp", Target: "u-bob",
		ClientID: "console", Clients: []string{"console", "app"}, Reason: "ticket", Ticket: "T-1", ConsentID: "c1",
		Scopes: []string{"openid", "api"}, Audiences: []string{"api"}, BreakGlass: true, RequestID: "r1",
		StartedAt: start, ExpiresAt: start.Add(time.Hour), EndedAt: start.Add(time.Minute), EndReason: "ended", EndedBy: "agent",
		Logout: []LogoutDelivery{{ClientID: "app", Delivered: true, Attempts: 1, Status: 200}}}
	for _, r := range []*RepSession{full, {ID: "BBBBBBBBBBBBBBBBBBBBBB", StartedAt: start, ExpiresAt: start}, {}} {
		b, err := encodeRep(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"started_at":"2026-03-02T09:00:00+05:30","ended_at":"0001-01-01T00:00:00Z","logout":[{}]}`))
	f.Add([]byte(`{"started_at":"10000-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"clients":null,"logout":null,"scopes":[""]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeRep(raw)
		if err != nil {
			if r != nil {
				t.Fatal("both a record and an error")
			}
			return
		}
		b1, err := encodeRep(r)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		r2, err := decodeRep(b1)
		if err != nil {
			t.Fatalf("an encoded record does not decode: %v\n%s", err, b1)
		}
		b2, err := encodeRep(r2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("not a fixed point (%v):\n%s\n%s", err, b1, b2)
		}
		if !repEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}

// repEqual compares records field by field, times by instant.
func repEqual(a, b *RepSession) bool {
	ta := []time.Time{a.StartedAt, a.ExpiresAt, a.EndedAt}
	tb := []time.Time{b.StartedAt, b.ExpiresAt, b.EndedAt}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	x, y := *a, *b
	x.StartedAt, x.ExpiresAt, x.EndedAt = time.Time{}, time.Time{}, time.Time{}
	y.StartedAt, y.ExpiresAt, y.EndedAt = time.Time{}, time.Time{}, time.Time{}
	if len(x.Logout) != len(y.Logout) {
		return false
	}
	for i := range x.Logout {
		if !x.Logout[i].At.Equal(y.Logout[i].At) {
			return false
		}
	}
	x.Logout, y.Logout = nil, nil
	jx, _ := json.Marshal(x)
	jy, _ := json.Marshal(y)
	return bytes.Equal(jx, jy) && slices.Equal(x.Clients, y.Clients) && slices.Equal(x.Scopes, y.Scopes) && slices.Equal(x.Audiences, y.Audiences)
}

// FuzzDecodeHandoff: decodeHandoff never panics on junk, a record it decodes encodes again as a
// fixed point, and its ttl never panics and is at least a second.
func FuzzDecodeHandoff(f *testing.F) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, r := range []*handoffRecord{
		{ID: "h1", RepresentationID: "AAAAAAAAAAAAAAAAAAAAAA", Actor: "agent", ActorIssuer: "https://idp", Target: "u-bob",
			ClientID: "app", CreatedAt: now, ExpiresAt: now.Add(DefaultHandoffTTL), AccessTokenTTL: DefaultHandoffAccessTokenTTL,
			RequestID: "r1", UsedAt: now.Add(time.Second), GrantID: "g1", Revoked: true, Replays: 2},
		{ID: "h2", CreatedAt: now, ExpiresAt: now},
		{},
	} {
		b, err := encodeHandoff(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"expires_at":"9999-12-31T23:59:59.999999999-23:59","at_ttl":-9223372036854775808}`))
	f.Add([]byte(`{"expires_at":"0001-01-01T00:00:00+23:59","used_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"at_ttl":1e30}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"replays":"1"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeHandoff(raw)
		if err != nil {
			if r != nil {
				t.Fatal("both a record and an error")
			}
			return
		}
		if ttl := r.ttl(now); ttl < time.Second {
			t.Fatalf("ttl %v", ttl)
		}
		b1, err := encodeHandoff(r)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		r2, err := decodeHandoff(b1)
		if err != nil {
			t.Fatalf("an encoded record does not decode: %v\n%s", err, b1)
		}
		b2, err := encodeHandoff(r2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("not a fixed point (%v):\n%s\n%s", err, b1, b2)
		}
		if !r.CreatedAt.Equal(r2.CreatedAt) || !r.ExpiresAt.Equal(r2.ExpiresAt) || !r.UsedAt.Equal(r2.UsedAt) ||
			r.ID != r2.ID || r.GrantID != r2.GrantID || r.AccessTokenTTL != r2.AccessTokenTTL || r.Replays != r2.Replays {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}
