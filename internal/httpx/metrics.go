package httpx

import (
	"net/http"
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// RouteUnmatched is the route label of requests that no ServeMux pattern matched (404, 405, redirects)
// or that were answered before routing. The raw path is never a label: it would let any client create
// series without bound.
const RouteUnmatched = "unmatched"

// Metrics holds actas's Prometheus collectors on a registry of its own (never the global one, so tests
// and several servers in one process do not collide). It is safe for concurrent use; a nil *Metrics
// records nothing.
//
// Series:
//
//	actas_http_requests_total{route,method,code}          counter
//	actas_http_request_duration_seconds{route,method}     histogram
//	actas_http_requests_in_flight                         gauge
//	actas_build_info{version,revision,goversion}          gauge, always 1
//	actas_storage_errors_total{op}                        counter
//	actas_ready                                           gauge, 1 when /readyz answers 200
//
// plus the standard go_* and process_* collectors.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	storageErrors *prometheus.CounterVec
	ready         prometheus.Gauge
}

// NewMetrics returns the collectors registered on a fresh registry. version and revision label
// actas_build_info (e.g. "v0.1.0" and a commit hash; "" is allowed).
func NewMetrics(version, revision string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actas_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "actas_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actas_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		storageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actas_storage_errors_total",
			Help: "Storage operations that failed, by operation.",
		}, []string{"op"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actas_ready",
			Help: "1 when the server reports ready (/readyz answers 200), else 0.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "actas_build_info",
		Help: "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{
			"version":   version,
			"revision":  revision,
			"goversion": runtime.Version(),
		},
	})
	build.Set(1)
	m.reg.MustRegister(
		m.requests, m.duration, m.inFlight, m.storageErrors, m.ready, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, so other packages can register their own collectors (names prefixed
// "actas_"). Registering a name twice panics with MustRegister; use Register to get an error.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format (mount it at GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StorageError counts one failed storage operation. op must come from a fixed set of names chosen by
// the caller ("get_client", "ping", …), never from request data, to keep the series bounded.
func (m *Metrics) StorageError(op string) {
	if m == nil {
		return
	}
	m.storageErrors.WithLabelValues(op).Inc()
}

// observe records one answered request.
func (m *Metrics) observe(route, method string, code int, seconds float64) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route, method).Observe(seconds)
}

func (m *Metrics) addInFlight(d float64) {
	if m != nil {
		m.inFlight.Add(d)
	}
}

func (m *Metrics) setReady(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

// methodLabel bounds the method label: the standard methods as they are, anything else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// routeLabel turns the pattern that http.ServeMux matched (r.Pattern, Go 1.22+ syntax
// "[METHOD ][HOST]/PATH") into the route label: the pattern without its method, which is a label of
// its own. An empty pattern (no match) is RouteUnmatched.
func routeLabel(pattern string) string {
	if pattern == "" {
		return RouteUnmatched
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '/':
			return pattern // no method; a host (if any) comes first and contains no space
		case ' ', '\t':
			rest := pattern[i+1:]
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				rest = rest[1:]
			}
			return rest
		}
	}
	return pattern
}
