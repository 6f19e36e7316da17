package audit_test

import (
	"testing"

	"github.com/actas-dev/actas/audit"
)

// BenchmarkAppend measures Record of a typical grant event (validation, canonical encoding,
// SHA-256, the compare-and-set append and the log line) on each backend, with the retention by
// length that production uses. Run: go test -run '^$' -bench Append ./audit/
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tr := quietTrail(b, be.new(b), func(o *audit.Options) { o.MaxLen = 100_000 })
			e := grant(1)
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.Record(b.Context(), e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("validate+canonical+hash", func(b *testing.B) {
		e := grant(1)
		b.ReportAllocs()
		for b.Loop() {
			if err := audit.Validate(e); err != nil {
				b.Fatal(err)
			}
			_ = audit.HashOf(audit.Canonical(e))
		}
	})
}
