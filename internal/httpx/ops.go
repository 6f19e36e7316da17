package httpx

import "net/http"

// OpsHandler serves the ops listener (never the public one):
//
//	GET /healthz  200 {"status":"ok"}: the process is alive and serving
//	GET /readyz   200 {"status":"ready"}, or 503 {"status":"not_ready","reason":"..."} while a check
//	              fails or the server drains (see [Readiness.Ready])
//	GET /metrics  the registry of m in the Prometheus text format
//
// Wrap it with [Wrap] (without a Logger, to keep probes out of the access log) for request ids,
// limits and metrics of its own. A nil r counts as never ready; a nil m leaves /metrics unmounted.
func OpsHandler(r *Readiness, m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ok, reason := false, "readiness not configured"
		if r != nil {
			ok, reason = r.Ready()
		}
		if !ok {
			WriteJSON(w, http.StatusServiceUnavailable, readyBody{Status: "not_ready", Reason: reason})
			return
		}
		WriteJSON(w, http.StatusOK, readyBody{Status: "ready"})
	})
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	return mux
}

type readyBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
