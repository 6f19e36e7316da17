package exchange

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestParseHandoffCode(t *testing.T) {
	valid, _ := newHandoffCode()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{name: "ok/fresh", in: valid, ok: true},
		{name: "ok/all-zero", in: strings.Repeat("A", HandoffCodeLen), ok: true},
		{name: "fail/empty", in: ""},
		{name: "fail/short", in: valid[:HandoffCodeLen-1]},
		{name: "fail/long", in: valid + "A"},
		{name: "fail/padded", in: valid[:HandoffCodeLen-1] + "="},
		{name: "fail/standard-alphabet", in: strings.Repeat("+", HandoffCodeLen)},
		{name: "fail/space", in: valid[:20] + " " + valid[21:]},
		{name: "fail/non-canonical-last-character", in: strings.Repeat("A", HandoffCodeLen-1) + "B"},
		{name: "fail/non-ascii", in: strings.Repeat("A", HandoffCodeLen-2) + "é"},
		{name: "fail/oversized", in: strings.Repeat("A", 1<<20)},
		{name: "fail/jwt", in: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1LWJvYiJ9.c2ln"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseHandoffCode(tc.in)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.Is(err, ErrHandoffMalformed):
				t.Fatalf("accepted or wrong error: %v", err)
			case tc.ok && c.key() == (HandoffCode{}).key():
				t.Fatal("no hash")
			}
		})
	}
	a, _ := ParseHandoffCode(valid)
	other, _ := newHandoffCode()
	b, _ := ParseHandoffCode(other)
	if a.key() == b.key() || strings.Contains(a.key(), valid) {
		t.Fatalf("keys %s %s", a.key(), b.key())
	}
}

// FuzzParseHandoffCode: whatever the input, no panic; what is accepted is exactly a canonical
// unpadded base64url encoding of 32 bytes.
func FuzzParseHandoffCode(f *testing.F) {
	valid, _ := newHandoffCode()
	for _, s := range []string{valid, "", strings.Repeat("A", 43), strings.Repeat("A", 42) + "B", valid + "=", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseHandoffCode(s)
		if err != nil {
			if !errors.Is(err, ErrHandoffMalformed) {
				t.Fatalf("error %v", err)
			}
			return
		}
		b, derr := base64.RawURLEncoding.DecodeString(s)
		if derr != nil || len(b) != handoffCodeBytes || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q", s)
		}
	})
}

// TestHandoffMalformedCodes: malformed and oversized codes are refused before any storage lookup
// (every read of a hand-off key fails in this test, which would answer 503).
func TestHandoffMalformedCodes(t *testing.T) {
	tests := []struct {
		name, code, err, reason string
	}{
		{name: "fail/short", code: "abc", err: "invalid_request", reason: CodeHandoffInvalid},
		{name: "fail/one-too-long", code: strings.Repeat("A", HandoffCodeLen+1), err: "invalid_request", reason: CodeHandoffInvalid},
		{name: "fail/bad-character", code: strings.Repeat("A", HandoffCodeLen-1) + "*", err: "invalid_request", reason: CodeHandoffInvalid},
		{name: "fail/non-canonical", code: strings.Repeat("A", HandoffCodeLen-1) + "B", err: "invalid_request", reason: CodeHandoffInvalid},
		{name: "fail/large", code: strings.Repeat("A", 8<<10), err: "invalid_request", reason: CodeHandoffInvalid},
		{name: "fail/oversized", code: strings.Repeat("A", MaxTokenSize+1), err: "invalid_request"},
		{name: "fail/empty", code: "", err: "invalid_request"},
	}
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newHandoffEnv(t, b.kv)
			var lookups sync.Map
			e.kv.setFail(func(op, key string) bool {
				if strings.HasPrefix(key, "handoff:") {
					lookups.Store(key, op)
					return true
				}
				return false
			})
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					wantRefused(t, e.redeem(tc.code, "mobile"), tc.err, tc.reason)
				})
			}
			lookups.Range(func(k, v any) bool { t.Errorf("storage was asked for %v (%v)", k, v); return true })
			// A well-formed but unknown code is looked up, and is unknown.
			e.kv.setFail(nil)
			unknown, _ := newHandoffCode()
			wantRefused(t, e.redeem(unknown, "mobile"), "invalid_request", CodeHandoffInvalid)
		})
	}
}

// TestHandoffConcurrentRedemption: many redemptions of one code at once yield exactly one
// success; the others are replays, which revoke what the success issued.
func TestHandoffConcurrentRedemption(t *testing.T) {
	const n = 16
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			_, _, created := e.mustCreate("mobile")
			code := created.str("code")
			answers := make([]repAnswer, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					answers[i] = e.redeem(code, "mobile", "scope", "openid offline_access")
				}()
			}
			close(start)
			wg.Wait()
			var ok []repAnswer
			for _, a := range answers {
				switch {
				case a.status == http.StatusOK:
					ok = append(ok, a)
				case a.str("reason_code") != CodeHandoffReplayed:
					t.Errorf("a losing redemption: %d %v", a.status, a.body)
				}
			}
			if len(ok) != 1 {
				t.Fatalf("%d successful redemptions, want exactly 1", len(ok))
			}
			if r := e.audit.ofType(EventHandoffRedeemed); len(r) != 1 {
				t.Fatalf("%d redeemed events", len(r))
			}
			e.svc.Wait() // the replays' second sweeps
			if in := e.introspect(ok[0].str("access_token")); in["active"] != false {
				t.Fatalf("the winner's token after %d replays: %v", n-1, in)
			}
		})
	}
}

// TestHandoffQRCode: the QR code decodes to the preferred link: the universal link when the client
// has one, else the deep link.
func TestHandoffQRCode(t *testing.T) {
	e := newHandoffEnv(t, repBackends[0].kv)
	agent, sid, a := e.mustCreate("mobile")
	links, _ := a.body["links"].(map[string]any)
	if got := decodeQR(t, a.str("qr")); got != links["universal_link"] {
		t.Fatalf("QR code %q, want the universal link %q", got, links["universal_link"])
	}
	a2 := e.create(agent, sid, "mobile2")
	if got := decodeQR(t, a2.str("qr")); got != hoOtherDeep+"#code="+a2.str("code") {
		t.Fatalf("QR code %q, want the deep link", got)
	}
}

func decodeQR(t *testing.T, dataURL string) string {
	t.Helper()
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.40q", dataURL)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR decode: %v", err)
	}
	return res.GetText()
}

func TestNewHandoffs(t *testing.T) {
	e := newRepEnv(t, repBackends[0].kv)
	tests := []struct {
		name string
		o    HandoffOptions
		ok   bool
		ttl  time.Duration
	}{
		{name: "ok/defaults", ok: true, ttl: DefaultHandoffTTL},
		{name: "ok/max", o: HandoffOptions{TTL: MaxHandoffTTL}, ok: true, ttl: MaxHandoffTTL},
		{name: "fail/too-long", o: HandoffOptions{TTL: MaxHandoffTTL + time.Second}},
		{name: "fail/negative", o: HandoffOptions{TTL: -time.Minute}},
		{name: "fail/access-token-ttl", o: HandoffOptions{AccessTokenTTL: time.Millisecond}},
		{name: "fail/qr-pixels", o: HandoffOptions{QRModulePixels: maxHandoffQRModulePixels + 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHandoffs(e.svc, tc.o)
			if tc.ok != (err == nil) || (tc.ok && h.o.TTL != tc.ttl) {
				t.Fatalf("NewHandoffs(%+v): %v", tc.o, err)
			}
		})
	}
	if _, err := NewHandoffs(nil, HandoffOptions{}); err == nil {
		t.Fatal("no service accepted")
	}
}
