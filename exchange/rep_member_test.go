package exchange

import (
	"testing"
	"time"
)

func TestRepParseMember(t *testing.T) {
	t.Parallel()
	id := "WJxtwY7Z3UgxH5JC_XU1bg"
	start := time.UnixMilli(1_765_000_000_123).UTC()
	m := repMember(start, id)
	if got, gid, ok := repParseMember(m); !ok || !got.Equal(start) || gid != id {
		t.Fatalf("repParseMember(%q) = %v %q %v", m, got, gid, ok)
	}
	for _, bad := range []string{
		"00000000000A." + id,    // upper-case hex: not what repMember writes
		"+" + m[1:],             // a sign
		"-00000000001." + id,    // negative
		m[:12] + "." + id + "x", // not an id
		m[:11] + "." + id,       // short time
		"zzzzzzzzzzzz." + id,    // not hex
		m[:12] + id,             // no dot
	} {
		if _, _, ok := repParseMember(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}
