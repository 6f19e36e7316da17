package audit_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/actas-dev/actas/audit"
)

// TestDocsExamples: the examples in docs/audit.md cover the whole catalogue, one event per type,
// every one valid, and they form a valid chain — so the documentation cannot drift
// from the encoding.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```json\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no ```json block in docs/audit.md")
	}
	var types []string
	prev := ""
	for i, line := range strings.Split(strings.TrimSpace(block), "\n") {
		var e audit.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		hash := e.Hash
		e.Hash = ""
		if err := audit.Validate(e); err != nil {
			t.Errorf("example %d (%s): %v", i+1, e.Type, err)
		}
		if got := audit.HashOf(audit.Canonical(e)); got != hash {
			t.Errorf("example %d (%s): hash %s, the encoding hashes to %s", i+1, e.Type, hash, got)
		}
		if e.PrevHash != prev {
			t.Errorf("example %d (%s): prev_hash does not chain", i+1, e.Type)
		}
		e.Hash = hash
		if enc, _ := e.MarshalJSON(); string(enc) != line {
			t.Errorf("example %d (%s) is not in canonical form:\n%s\n%s", i+1, e.Type, line, enc)
		}
		types = append(types, e.Type)
		prev = hash
	}
	want := audit.Types()
	slices.Sort(types)
	slices.Sort(want)
	if !slices.Equal(types, want) {
		t.Fatalf("examples cover %v,\nthe catalogue is %v", types, audit.Types())
	}
}
