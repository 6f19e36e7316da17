package exchange

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/actas-dev/actas/oauth"
)

func TestDecodeAct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		max     int
		want    *oauth.Actor
		wantErr error
	}{
		{name: "ok/absent", json: `null`, max: 4},
		{name: "ok/one", json: `{"sub":"a"}`, max: 4, want: &oauth.Actor{Subject: "a"}},
		{name: "ok/three-deep-with-iss", json: `{"sub":"a","act":{"sub":"b","iss":"https://idp","act":{"sub":"c"}}}`, max: 4,
			want: &oauth.Actor{Subject: "a", Act: &oauth.Actor{Subject: "b", Issuer: "https://idp", Act: &oauth.Actor{Subject: "c"}}}},
		{name: "ok/ignores-non-identity-members", json: `{"sub":"a","exp":1,"aud":"x"}`, max: 4, want: &oauth.Actor{Subject: "a"}},
		{name: "fail/too-deep", json: `{"sub":"a","act":{"sub":"b","act":{"sub":"c"}}}`, max: 2, wantErr: ErrActTooDeep},
		{name: "fail/not-object", json: `"a"`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/no-sub", json: `{"iss":"x"}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/empty-sub", json: `{"sub":""}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/sub-not-string", json: `{"sub":1}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/iss-not-string", json: `{"sub":"a","iss":2}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/null-inner", json: `{"sub":"a","act":null}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/inner-array", json: `{"sub":"a","act":[{"sub":"b"}]}`, max: 4, wantErr: ErrMalformedAct},
		{name: "fail/long-sub", json: `{"sub":"` + strings.Repeat("x", maxIdentityLen+1) + `"}`, max: 4, wantErr: ErrMalformedAct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeAct(v, tt.max)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMayAct(t *testing.T) {
	t.Parallel()
	m, err := decodeMayAct(map[string]any{"sub": "u-ada", "iss": "https://idp"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		sub, iss string
		want     bool
	}{
		{"ok/same", "u-ada", "https://idp", true},
		{"fail/other-sub", "u-sam", "https://idp", false},
		{"fail/other-iss", "u-ada", "https://actas.test", false},
	} {
		if got := m.Allows(tt.sub, tt.iss); got != tt.want {
			t.Errorf("%s: Allows(%q, %q) = %v", tt.name, tt.sub, tt.iss, got)
		}
	}
	if any, _ := decodeMayAct(map[string]any{"sub": "u-ada"}); !any.Allows("u-ada", "https://whoever") {
		t.Error("ok/no-iss: a may_act without iss must match any issuer's subject")
	}
	if _, err := decodeMayAct("u-ada"); !errors.Is(err, ErrMalformedAct) {
		t.Errorf("fail/not-object: %v", err)
	}
}

// FuzzDecodeAct: any JSON either decodes into a bounded, well-formed chain that survives a round
// trip through its claim form, or fails with one of the two sentinels; never a panic.
func FuzzDecodeAct(f *testing.F) {
	f.Add([]byte(`{"sub":"a","act":{"sub":"b","iss":"https://idp"}}`), 4)
	f.Add([]byte(`{"sub":"a","act":{"sub":"b","act":{"sub":"c","act":{"sub":"d","act":{"sub":"e"}}}}}`), 3)
	f.Add([]byte(`{"sub":1}`), 4)
	f.Add([]byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		a, err := DecodeAct(v, max)
		if err != nil {
			if !errors.Is(err, ErrMalformedAct) && !errors.Is(err, ErrActTooDeep) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		limit := max
		if limit <= 0 || limit > maxActDepthLimit {
			limit = maxActDepthLimit
		}
		if a.Depth() > limit {
			t.Fatalf("depth %d beyond %d", a.Depth(), limit)
		}
		for x := a; x != nil; x = x.Act {
			if x.Subject == "" || len(x.Subject) > maxIdentityLen {
				t.Fatalf("bad subject %q", x.Subject)
			}
		}
		if a == nil {
			return
		}
		raw, err := json.Marshal(a.Map())
		if err != nil {
			t.Fatal(err)
		}
		var back any
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeAct(back, max)
		if err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip: %+v vs %+v (%v)", again, a, err)
		}
	})
}
