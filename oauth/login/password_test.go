package login

import (
	"errors"
	"strings"
	"testing"
)

// fastArgon keeps tests quick; VerifyPassword reads the parameters from the hash.
var fastArgon = argonParams{memory: 64, time: 1, threads: 1}

func TestHashPasswordFormat(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use the documented parameters", h)
	}
	p, salt, key, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if p != defaultArgon || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("params %+v, salt %d bytes, key %d bytes", p, len(salt), len(key))
	}
	ok, err := VerifyPassword(h, "correct horse")
	if err != nil || !ok {
		t.Fatalf("VerifyPassword(own hash) = %v, %v", ok, err)
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if _, err := HashPassword(""); err == nil {
		t.Fatal("empty password hashed")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	good, err := hashPassword("s3cret", fastArgon)
	if err != nil {
		t.Fatal(err)
	}
	other, err := hashPassword("s3cret", argonParams{memory: 128, time: 2, threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", alg, v, params, salt, key
	with := func(i int, v string) string {
		c := append([]string(nil), parts...)
		c[i] = v
		return strings.Join(c, "$")
	}
	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr bool
	}{
		{name: "ok/match", hash: good, pw: "s3cret", want: true},
		{name: "ok/params-read-from-hash", hash: other, pw: "s3cret", want: true},
		{name: "fail/params-changed", hash: with(3, "m=128,t=1,p=1"), pw: "s3cret"},
		{name: "fail/wrong-password", hash: good, pw: "s3cret!"},
		{name: "fail/empty-password", hash: good, pw: ""},
		{name: "fail/dummy-hash-matches-nothing", hash: dummyHash, pw: ""},
		{name: "fail/wrong-parameter-string", hash: with(3, "m=abc,t=1,p=1"), pw: "s3cret", wantErr: true},
		{name: "fail/parameters-out-of-order", hash: with(3, "t=1,m=64,p=1"), pw: "s3cret", wantErr: true},
		{name: "fail/parameter-with-sign", hash: with(3, "m=+64,t=1,p=1"), pw: "s3cret", wantErr: true},
		{name: "fail/memory-too-large", hash: with(3, "m=4194304,t=1,p=1"), pw: "s3cret", wantErr: true},
		{name: "fail/zero-time", hash: with(3, "m=64,t=0,p=1"), pw: "s3cret", wantErr: true},
		{name: "fail/zero-threads", hash: with(3, "m=64,t=1,p=0"), pw: "s3cret", wantErr: true},
		{name: "fail/argon2i", hash: with(1, "argon2i"), pw: "s3cret", wantErr: true},
		{name: "fail/bcrypt", hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw: "s3cret", wantErr: true},
		{name: "fail/old-version", hash: with(2, "v=16"), pw: "s3cret", wantErr: true},
		{name: "fail/bad-salt", hash: with(4, "!!!"), pw: "s3cret", wantErr: true},
		{name: "fail/short-key", hash: with(5, "AAAA"), pw: "s3cret", wantErr: true},
		{name: "fail/padded-key", hash: with(5, parts[5]+"="), pw: "s3cret", wantErr: true},
		{name: "fail/empty", hash: "", pw: "s3cret", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := VerifyPassword(tt.hash, tt.pw)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidHash) {
					t.Fatalf("err = %v, want ErrInvalidHash", err)
				}
				if got {
					t.Fatal("malformed hash matched")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestDummyHashParses(t *testing.T) {
	t.Parallel()
	p, _, _, err := parseHash(dummyHash)
	if err != nil || p != defaultArgon {
		t.Fatalf("dummy hash: %+v, %v (it must cost what a real hash costs)", p, err)
	}
}
