package audit

import "github.com/prometheus/client_golang/prometheus"

// metrics are the trail's Prometheus collectors:
//
//	actas_audit_events_recorded_total{type}   counter: events durably stored
//	actas_audit_events_lost_total{type}       counter: events refused or not stored (type "unknown"
//	                                          for a type outside the catalogue)
//	actas_audit_events_abandoned_total{type}  counter: events whose caller gave up (its context
//	                                          ended: a client that went away) before they were stored
//	actas_audit_append_conflicts_total        counter: compare-and-set retries (other replicas
//	                                          appended first)
//	actas_audit_append_duration_seconds       histogram: time to store one event, retries included
//
// The type label takes only catalogue values, so its cardinality is fixed.
type metrics struct {
	recorded      *prometheus.CounterVec
	lost          *prometheus.CounterVec
	abandoned     *prometheus.CounterVec
	conflicts     prometheus.Counter
	appendSeconds prometheus.Histogram
}

func newMetrics() metrics {
	return metrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actas_audit_events_recorded_total",
			Help: "Audit events durably stored, by type.",
		}, []string{"type"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actas_audit_events_lost_total",
			Help: "Audit events that were refused or could not be stored, by type.",
		}, []string{"type"}),
		abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actas_audit_events_abandoned_total",
			Help: "Audit events not stored because their caller gave up first (a client that went away), by type.",
		}, []string{"type"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actas_audit_append_conflicts_total",
			Help: "Audit appends retried because another writer moved the chain head first.",
		}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "actas_audit_append_duration_seconds",
			Help:    "Time to store one audit event, compare-and-set retries included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
}

// Collectors returns the trail's Prometheus collectors, for cmd to register on the server's
// registry (or pass Options.Registerer instead).
func (t *Trail) Collectors() []prometheus.Collector {
	return []prometheus.Collector{t.m.recorded, t.m.lost, t.m.abandoned, t.m.conflicts, t.m.appendSeconds}
}
