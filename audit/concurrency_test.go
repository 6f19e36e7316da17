package audit_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/actas-dev/actas/audit"
)

// TestConcurrentWriters: several Trails on one stream — replicas — and several goroutines on each,
// append at once; every event is stored exactly once and the result is one valid chain.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		replicas, each   int
		goroutinesPerRep int
	}{
		{"ok/two-replicas", 2, 40, 1},
		{"ok/ten-replicas", 10, 10, 1},
		{"ok/three-replicas-four-goroutines-each", 3, 8, 4},
	}
	for _, b := range backends {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := b.new(t)
				trails := make([]*audit.Trail, tc.replicas)
				for i := range trails {
					trails[i] = quietTrail(t, s, nil)
				}
				var wg sync.WaitGroup
				errs := make(chan error, tc.replicas*tc.goroutinesPerRep*tc.each)
				for r, tr := range trails {
					for g := range tc.goroutinesPerRep {
						wg.Go(func() {
							for i := range tc.each {
								e := grant(i)
								e.RequestID = fmt.Sprintf("r%d-g%d-%d", r, g, i)
								if err := tr.Record(t.Context(), e); err != nil {
									errs <- err
								}
							}
						})
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				total := tc.replicas * tc.goroutinesPerRep * tc.each
				wantOK(t, mustVerify(t, trails[0]), int64(total))
				seen := map[string]bool{}
				if err := trails[1].Export(t.Context(), t0.AddDate(-100, 0, 0), t0.AddDate(100, 0, 0), func(e audit.Event) error {
					if seen[e.RequestID] {
						return fmt.Errorf("%s stored twice", e.RequestID)
					}
					seen[e.RequestID] = true
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(seen) != total {
					t.Fatalf("exported %d distinct events, want %d", len(seen), total)
				}
			})
		}
	}
}
