package exchange

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestConsentUse covers what the exchange relies on: one use per grant, exact purpose, joining
// the grant's own active representation, release, attach and revocation.
func TestConsentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			approved := func(t *testing.T, f *consentFixture) *AccessRequest {
				r := f.request("u-sam", "u-bob")
				if _, err := f.svc.Approve(ctx, r.ID, "u-bob", 0); err != nil {
					t.Fatal(err)
				}
				return r
			}
			cases := []struct {
				name string
				run  func(t *testing.T, f *consentFixture)
			}{
				{"ok/once", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if err != nil || g.ID != r.ID || !g.Fresh() {
						t.Fatalf("use: %+v %v", g, err)
					}
					var miss *ConsentMissingError
					if _, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); !errors.As(err, &miss) || miss.Mismatch || miss.Pending != "" {
						t.Fatalf("second use: %v", err)
					}
					if got, _ := f.svc.Get(ctx, r.ID); got.State != ConsentUsed || got.UsedAt.IsZero() {
						t.Fatalf("stored %+v", got)
					}
				}},
				{"fail/other-purpose", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					var miss *ConsentMissingError
					for _, p := range [][2]string{{r.Reason, "SUP-43"}, {r.Reason + ".", r.Ticket}, {r.Reason, ""}} {
						if _, err := f.svc.Use(ctx, "u-sam", "u-bob", p[0], p[1]); !errors.As(err, &miss) || !miss.Mismatch {
							t.Fatalf("use %q: %v", p, err)
						}
					}
					if _, err := f.svc.Use(ctx, "u-ada", "u-bob", r.Reason, r.Ticket); !errors.Is(err, ErrNoConsent) {
						t.Fatalf("other agent: %v", err)
					}
					if _, err := f.svc.Use(ctx, "u-sam", "u-alice", r.Reason, r.Ticket); !errors.Is(err, ErrNoConsent) {
						t.Fatalf("other target: %v", err)
					}
				}},
				{"fail/pending", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					var miss *ConsentMissingError
					if _, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); !errors.As(err, &miss) || miss.Pending != r.ID {
						t.Fatalf("use: %v", err)
					}
				}},
				{"ok/release", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, _ := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if err := f.svc.Release(ctx, g.ID, ""); err != nil {
						t.Fatal(err)
					}
					if g2, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); err != nil || g2.ID != r.ID {
						t.Fatalf("use after release: %+v %v", g2, err)
					}
					// Attached to rep-1: a release for another representation leaves it alone.
					if err := f.svc.Attach(ctx, g.ID, "rep-1"); err != nil {
						t.Fatal(err)
					}
					if err := f.svc.Release(ctx, g.ID, "rep-2"); err != nil {
						t.Fatal(err)
					}
					if got, _ := f.svc.Get(ctx, r.ID); got.State != ConsentUsed || got.RepresentationID != "rep-1" {
						t.Fatalf("stored %+v", got)
					}
				}},
				{"ok/join-own-representation", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, _ := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if err := f.svc.Attach(ctx, g.ID, "rep-1"); err != nil {
						t.Fatal(err)
					}
					if err := f.svc.Attach(ctx, g.ID, "rep-2"); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("attach to another representation: %v", err)
					}
					f.reps.add(RepresentationSummary{ID: "rep-1", Actor: "u-sam", Target: "u-bob"})
					j, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if err != nil || j.ID != r.ID || j.RepresentationID != "rep-1" || j.Fresh() {
						t.Fatalf("join: %+v %v", j, err)
					}
					_ = f.reps.Stop(ctx, "rep-1", "u-sam", EndStoppedByActor)
					if _, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); !errors.Is(err, ErrNoConsent) {
						t.Fatalf("after the representation ended: %v", err)
					}
				}},
				{"ok/revoke-used-stops-representation", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, _ := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if err := f.svc.Attach(ctx, g.ID, "rep-1"); err != nil {
						t.Fatal(err)
					}
					v, err := f.svc.Revoke(ctx, r.ID, "u-bob")
					if err != nil || v.State != ConsentRevoked || v.EndedBy != "u-bob" {
						t.Fatalf("revoke: %+v %v", v, err)
					}
					if s := f.reps.stops(); !slices.Equal(s, []string{"rep-1 u-bob " + EndStoppedByTarget}) {
						t.Fatalf("stops %v", s)
					}
					if _, err := f.svc.Revoke(ctx, r.ID, "u-bob"); err != nil {
						t.Fatalf("revoke again: %v", err)
					}
					if n := countOf(f.events(), EventConsentRevoked); n != 1 {
						t.Fatalf("%d revoked events", n)
					}
					if _, err := f.svc.Revoke(ctx, r.ID, "u-alice"); !errors.Is(err, ErrConsentNotFound) {
						t.Fatalf("revoke by another user: %v", err)
					}
				}},
				{"ok/revoke-retries-failed-stop", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, _ := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					_ = f.svc.Attach(ctx, g.ID, "rep-1")
					f.reps.stopErr = errors.New("representations down")
					v, err := f.svc.Revoke(ctx, r.ID, "u-bob")
					if err == nil || v == nil || v.State != ConsentRevoked {
						t.Fatalf("revoke with a failing stop: %+v %v", v, err)
					}
					f.reps.stopErr = nil
					if _, err := f.svc.Revoke(ctx, r.ID, "u-bob"); err != nil || len(f.reps.stops()) != 1 {
						t.Fatalf("retry: %v %v", err, f.reps.stops())
					}
				}},
				{"fail/attach-after-revoke", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					g, _ := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket)
					if _, err := f.svc.Revoke(ctx, r.ID, "u-bob"); err != nil {
						t.Fatal(err)
					}
					if err := f.svc.Attach(ctx, g.ID, "rep-1"); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("attach: %v", err)
					}
					if err := f.svc.Release(ctx, g.ID, ""); err != nil {
						t.Fatal(err)
					}
					if got, _ := f.svc.Get(ctx, r.ID); got.State != ConsentRevoked {
						t.Fatalf("release revived a revoked grant: %s", got.State)
					}
					if len(f.reps.stops()) != 0 {
						t.Fatalf("stopped %v", f.reps.stops())
					}
				}},
				{"ok/revoke-approved-unused", func(t *testing.T, f *consentFixture) {
					r := approved(t, f)
					if _, err := f.svc.Revoke(ctx, r.ID, "u-bob"); err != nil {
						t.Fatal(err)
					}
					if _, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); !errors.Is(err, ErrNoConsent) {
						t.Fatalf("use revoked: %v", err)
					}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newConsentFixture(t, b.kv(t)))
				})
			}
		})
	}
}
