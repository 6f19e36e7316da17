package audit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/actas-dev/actas/audit"
)

// TestNoSecretInStoreOrLog: events that carry tokens in every free-text place (as a careless
// caller or a hostile client might put them) never bring them into the store or the log.
func TestNoSecretInStoreOrLog(t *testing.T) {
	t.Parallel()
	secrets := []string{testJWT, testRefreshToken, testBareHMAC, testJWE}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.new(t)
			tr, logs := newTrail(t, s, nil)
			for i, sec := range secrets {
				denial := audit.Event{Type: audit.TypeExchangeDenied, Actor: "u-sam", Decision: audit.DecisionDeny,
					ReasonText: "purpose " + sec, UserAgent: "curl " + sec, Ticket: sec,
					Detail: map[string]string{"note": sec, "client_secret": "s3cret-" + sec}}
				tr.RecordBestEffort(t.Context(), denial)
				g := grant(i)
				g.ReasonText = "purpose " + sec
				if err := tr.Record(t.Context(), g); !errors.Is(err, audit.ErrSecret) {
					t.Fatalf("Record with a token = %v", err)
				}
			}
			es, err := s.ReadRange(t.Context(), audit.DefaultStream, "", 100, false)
			if err != nil || len(es) != len(secrets) {
				t.Fatalf("stored %d events, %v; want the %d denials", len(es), err, len(secrets))
			}
			var stored strings.Builder
			for _, e := range es {
				stored.Write(e.Value)
			}
			for _, sec := range secrets {
				for where, text := range map[string]string{"store": stored.String(), "log": logs.String()} {
					// Any long piece of the token counts: a clipped token is still a leak.
					if strings.Contains(text, sec[:24]) || strings.Contains(text, sec[len(sec)-24:]) {
						t.Errorf("a token reached the %s", where)
					}
				}
			}
			if strings.Contains(stored.String(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
				t.Error("a client_secret detail survived")
			}
		})
	}
}
