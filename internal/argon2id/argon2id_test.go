package argon2id

import (
	"errors"
	"strings"
	"testing"
)

const demo = "$argon2id$v=19$m=19456,t=2,p=1$1GruAfojx6UsALUTaNJZOA$ranFqc14K/tLYtaR46Mt0oVmvODvxDHiCKdb2qM5t7k"

func TestParse(t *testing.T) {
	h, err := Parse(demo)
	if err != nil || h.Memory != 19456 || h.Time != 2 || h.Threads != 1 || len(h.Salt) != 16 || len(h.Key) != 32 {
		t.Fatalf("%+v %v", h, err)
	}
	for name, in := range map[string]string{
		"reordered":       strings.Replace(demo, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1),
		"leading-zero":    strings.Replace(demo, "p=1", "p=01", 1),
		"too-many-lanes":  strings.Replace(demo, "p=1", "p=255", 1),
		"huge-memory":     strings.Replace(demo, "m=19456", "m=4194304", 1),
		"time-zero":       strings.Replace(demo, "t=2", "t=0", 1),
		"argon2i":         strings.Replace(demo, "argon2id", "argon2i", 1),
		"v16":             strings.Replace(demo, "v=19", "v=16", 1),
		"padded-salt":     strings.Replace(demo, "$1GruAfojx6UsALUTaNJZOA$", "$1GruAfojx6UsALUTaNJZOA==$", 1),
		"non-strict-salt": strings.Replace(demo, "1GruAfojx6UsALUTaNJZOA", "1GruAfojx6UsALUTaNJZOB", 1),
		"extra-field":     demo + "$x",
		"empty":           "",
	} {
		if _, err := Parse(in); !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "ranFqc14") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// FuzzParse: whatever the input, Parse accepts only canonical strings (the String of its result).
func FuzzParse(f *testing.F) {
	for _, s := range []string{demo, strings.Replace(demo, "p=1", "p=01", 1), "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$$$$$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if got := h.String(); got != s {
			t.Fatalf("accepted %q, which encodes back as %q", s, got)
		}
	})
}
