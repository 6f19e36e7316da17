package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// queryFixture records 30 events over two representations, two actors and three types, one
// millisecond apart starting at base, and returns them oldest first.
func queryFixture(t *testing.T, tr *audit.Trail, base time.Time) []audit.Event {
	t.Helper()
	var out []audit.Event
	for i := range 30 {
		e := grant(i)
		e.Time = base.Add(time.Duration(i) * time.Millisecond)
		e.RepresentationID = []string{"rep-a", "rep-b"}[i%2]
		if i%3 == 0 {
			e.Actor = "u-ann"
		}
		switch i % 5 {
		case 0:
			e.Type, e.Decision, e.ReasonCode = audit.TypeExchangeDenied, audit.DecisionDeny, "no_ticket"
		case 1:
			e.Type, e.Decision = audit.TypeRepresentationActivity, ""
		}
		out = append(out, mustRecord(t, tr, e))
	}
	return out
}

func TestQuery(t *testing.T) {
	t.Parallel()
	base := time.Now().UTC().Add(-time.Second)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tr := quietTrail(t, b.new(t), nil)
			all := queryFixture(t, tr, base)
			pick := func(keep func(i int, e audit.Event) bool) []string {
				var ids []string
				for i := len(all) - 1; i >= 0; i-- { // newest first
					if keep(i, all[i]) {
						ids = append(ids, all[i].ID)
					}
				}
				return ids
			}
			cases := []struct {
				name string
				f    audit.Filter
				want []string
			}{
				{"ok/all-newest-first", audit.Filter{Limit: 100}, pick(func(int, audit.Event) bool { return true })},
				{"ok/default-limit", audit.Filter{}, pick(func(int, audit.Event) bool { return true })},
				{"ok/actor", audit.Filter{Actor: "u-ann", Limit: 100}, pick(func(i int, _ audit.Event) bool { return i%3 == 0 })},
				{"ok/target", audit.Filter{Target: "u-carla", Limit: 100}, pick(func(int, audit.Event) bool { return true })},
				{"ok/target-none", audit.Filter{Target: "u-nobody", Limit: 100}, nil},
				{"ok/type", audit.Filter{Type: audit.TypeExchangeDenied, Limit: 100}, pick(func(i int, _ audit.Event) bool { return i%5 == 0 })},
				{"ok/representation", audit.Filter{Representation: "rep-b", Limit: 100}, pick(func(i int, _ audit.Event) bool { return i%2 == 1 })},
				{"ok/combined", audit.Filter{Representation: "rep-a", Actor: "u-ann", Type: audit.TypeExchangeDenied, Limit: 100},
					pick(func(i int, _ audit.Event) bool { return i%2 == 0 && i%3 == 0 && i%5 == 0 })},
				{"ok/since-inclusive-until-exclusive", audit.Filter{Since: base.Add(10 * time.Millisecond), Until: base.Add(20 * time.Millisecond), Limit: 100},
					pick(func(i int, _ audit.Event) bool { return i >= 10 && i < 20 })},
				{"ok/since-only", audit.Filter{Since: base.Add(25 * time.Millisecond), Limit: 100}, pick(func(i int, _ audit.Event) bool { return i >= 25 })},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					got, next, err := tr.Query(t.Context(), tc.f)
					if err != nil {
						t.Fatal(err)
					}
					if next != "" {
						t.Fatalf("next cursor %q for a complete result", next)
					}
					if len(got) != len(tc.want) {
						t.Fatalf("%d events, want %d", len(got), len(tc.want))
					}
					for i := range got {
						if got[i].ID != tc.want[i] {
							t.Fatalf("event %d = %s, want %s", i, got[i].ID, tc.want[i])
						}
						if got[i].Hash == "" || got[i].Time.IsZero() {
							t.Fatalf("event %d lacks hash or time: %+v", i, got[i])
						}
					}
				})
			}
			t.Run("ok/pagination", func(t *testing.T) {
				var seen []string
				cursor := ""
				for page := 0; ; page++ {
					got, next, err := tr.Query(t.Context(), audit.Filter{Actor: "u-sam", Cursor: cursor, Limit: 7})
					if err != nil {
						t.Fatal(err)
					}
					if len(got) > 7 {
						t.Fatalf("page of %d", len(got))
					}
					for _, e := range got {
						seen = append(seen, e.ID)
					}
					if next == "" {
						break
					}
					if page > 10 {
						t.Fatal("pagination does not end")
					}
					cursor = next
				}
				want := pick(func(i int, _ audit.Event) bool { return i%3 != 0 })
				if len(seen) != len(want) {
					t.Fatalf("paged %d events, want %d", len(seen), len(want))
				}
				for i := range want {
					if seen[i] != want[i] {
						t.Fatalf("paged event %d = %s, want %s", i, seen[i], want[i])
					}
				}
			})
			t.Run("fail/filters", func(t *testing.T) {
				for name, f := range map[string]audit.Filter{
					"unknown-type":      {Type: "nope"},
					"bad-cursor":        {Cursor: "not-a-cursor"},
					"since-after-until": {Since: base.Add(time.Millisecond), Until: base},
					"negative-limit":    {Limit: -1},
				} {
					if _, _, err := tr.Query(t.Context(), f); !errors.Is(err, audit.ErrInvalidFilter) {
						t.Errorf("%s: %v, want ErrInvalidFilter", name, err)
					}
				}
			})
		})
	}
}

// TestQueryBoundedPage: a large limit is capped at MaxLimit.
func TestQueryBoundedPage(t *testing.T) {
	t.Parallel()
	tr := quietTrail(t, backends[0].new(t), nil)
	for i := range audit.MaxLimit + 3 {
		mustRecord(t, tr, grant(i))
	}
	got, next, err := tr.Query(t.Context(), audit.Filter{Limit: 1 << 20})
	if err != nil || len(got) != audit.MaxLimit || next == "" {
		t.Fatalf("Query = %d events, next %q, %v", len(got), next, err)
	}
	rest, next, err := tr.Query(t.Context(), audit.Filter{Limit: 1 << 20, Cursor: next})
	if err != nil || len(rest) != 3 || next != "" {
		t.Fatalf("second page = %d events, next %q, %v", len(rest), next, err)
	}
}

// TestExportRange: Export gives the events in [since, until), oldest first.
func TestExportRange(t *testing.T) {
	t.Parallel()
	base := time.Now().UTC().Add(-time.Second)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tr := quietTrail(t, b.new(t), nil)
			all := queryFixture(t, tr, base)
			var got []audit.Event
			err := tr.Export(t.Context(), base.Add(5*time.Millisecond), base.Add(8*time.Millisecond), func(e audit.Event) error {
				got = append(got, e)
				return nil
			})
			if err != nil || len(got) != 3 || got[0].ID != all[5].ID || got[2].ID != all[7].ID {
				t.Fatalf("Export = %d events, %v", len(got), err)
			}
			if got[1].PrevHash != got[0].Hash {
				t.Fatal("exported events are not chained")
			}
			stop := errors.New("stop")
			if err := tr.Export(t.Context(), time.Time{}, time.Time{}, func(audit.Event) error { return stop }); !errors.Is(err, stop) {
				t.Fatalf("Export with a failing callback = %v", err)
			}
		})
	}
}

// countingStore counts the entries read from the store underneath.
type countingStore struct {
	storage.Streams
	read int
}

func (c *countingStore) ReadRange(ctx context.Context, stream, after string, limit int, reverse bool) ([]storage.StreamEntry, error) {
	es, err := c.Streams.ReadRange(ctx, stream, after, limit, reverse)
	c.read += len(es)
	return es, err
}

// TestQueryUsesPositions: a time-bounded Query or Export reads only the part of the stream near the
// bounds, not the whole stream, and a rarely matching filter is bounded per call.
func TestQueryUsesPositions(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	cs := &countingStore{Streams: memory.New(memory.WithClock(clock))}
	tr := quietTrail(t, cs, func(o *audit.Options) { o.Now = clock })
	const n = 6000
	for i := range n {
		now = start.Add(time.Duration(i) * time.Minute)
		mustRecord(t, tr, grant(i))
	}
	cs.read = 0
	got, next, err := tr.Query(t.Context(), audit.Filter{Since: now.Add(-30 * time.Minute)})
	if err != nil || len(got) != 31 || next != "" || cs.read > 500 {
		t.Fatalf("recent Query = %d events, next %q, %v; read %d entries", len(got), next, err, cs.read)
	}
	cs.read = 0
	got, _, err = tr.Query(t.Context(), audit.Filter{Until: start.Add(30 * time.Minute)})
	if err != nil || len(got) != 30 || cs.read > 100 {
		t.Fatalf("early Query = %d events, %v; read %d entries", len(got), err, cs.read)
	}
	cs.read = 0
	got, next, err = tr.Query(t.Context(), audit.Filter{Actor: "u-nobody"})
	if err != nil || len(got) != 0 || next == "" || cs.read > 5000 {
		t.Fatalf("rare Query = %d events, next %q, %v; read %d entries", len(got), next, err, cs.read)
	}
	cs.read = 0
	var exported int
	err = tr.Export(t.Context(), start.Add(100*time.Minute), start.Add(110*time.Minute), func(audit.Event) error { exported++; return nil })
	if err != nil || exported != 10 || cs.read > 600 {
		t.Fatalf("Export = %d events, %v; read %d entries", exported, err, cs.read)
	}
}
