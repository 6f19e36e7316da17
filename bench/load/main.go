// Command load drives a running actas over real HTTP on loopback and reports throughput, latency
// percentiles and errors. It is bounded in time and in request count and stops by itself.
//
//	go run ./cmd/actas serve --dev &
//	go run ./bench/load -scenario client_credentials -c 50 -d 10s
//	go run ./bench/load -scenario introspect -c 50 -d 10s
//	go run ./bench/load -scenario delegation -c 50 -d 10s
//
// The impersonation scenario needs many agents and customers: start the server with
//
//	go run ./bench/fleet -agents 64 -customers 2000 > /tmp/fleet.yaml
//	go run ./cmd/actas serve --dev --config /tmp/fleet.yaml
//	go run ./bench/load -scenario impersonation -c 50 -d 10s
//
// or, to let representations end by a short cap instead of a stop after each exchange,
//
//	go run ./bench/fleet -agents 4000 -customers 20000 -session-ttl 1s > /tmp/fleet.yaml
//	go run ./bench/load -scenario impersonation -c 50 -d 10s -agents 4000 -customers 20000 -end cap
//
// By default each client sends its next request as soon as it has an answer (a closed loop: the
// throughput is what the server sustains, the latency includes the queueing of 50 clients at
// once). -rate R offers R requests/s in all on a fixed schedule instead (an open loop), to see the
// latency at a given load; a request's latency then counts from its scheduled time:
//
//	go run ./bench/load -scenario impersonation -c 50 -d 10s -agents 4000 -customers 20000 -end cap -rate 1500
//
// The CPU time each request costs, from the processes' own accounting over the measured run, is
// reported for the load generator and for the processes named with -cpu:
//
//	go run ./bench/load -scenario impersonation ... -cpu server=$(pgrep -nf 'actas serve'),redis=$(pgrep -n redis-server)
//
// The ceiling scenario drives bench/ceiling, a bare handler that is not actas, to see what the
// machine allows at all (see that command's doc):
//
//	go run ./bench/ceiling -redis redis://127.0.0.1:6379/0 &
//	go run ./bench/load -scenario ceiling -url http://127.0.0.1:8091 -c 50 -d 10s
//
// Scenarios are in scenarios.go. Only loopback targets are accepted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url          string
	clientID     string
	clientSecret string
	apiID        string
	apiSecret    string
	concurrency  int
	duration     time.Duration
	maxRequests  int64
	warmup       time.Duration
	customers    int
	agents       int
	end          string
	rate         float64
	cpu          []cpuProc
}

// scenario prepares shared state and returns the function one worker calls per request. The
// function reports the outcome class ("ok", or a short error class) of its request and, when it
// also does untimed work (the impersonation's stop), the latency of the timed part.
type scenario func(ctx context.Context, o options, p *pool) (request, func(), error)

// request is one worker's request; a zero latency means "the whole call".
type request func(ctx context.Context, worker int) (class string, latency time.Duration, err error)

func main() {
	var o options
	name := flag.String("scenario", "client_credentials", "scenario: "+fmt.Sprint(scenarioNames()))
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "actas issuer URL (loopback only)")
	flag.StringVar(&o.clientID, "client-id", "demo-console", "confidential client")
	flag.StringVar(&o.clientSecret, "client-secret", "demo-console-secret-7Qm2v9XrL4tB8nKcW1zY5pHd3sJf6gAe", "its secret")
	flag.StringVar(&o.apiID, "api-id", "demo-api", "resource server client (introspection)")
	flag.StringVar(&o.apiSecret, "api-secret", "demo-api-secret-Vb8Tq3Lm9Xw2Rk5Nz7Hc4Jp6Ds1Fg0Ya", "its secret")
	flag.IntVar(&o.concurrency, "c", 50, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration (at most 5m)")
	flag.Int64Var(&o.maxRequests, "n", 2_000_000, "stop after this many requests")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up")
	flag.IntVar(&o.customers, "customers", 2000, "impersonation: customers in the bench/fleet config")
	flag.IntVar(&o.agents, "agents", 0, "impersonation: agents to sign in and share among the workers (default -c)")
	flag.StringVar(&o.end, "end", "stop", "impersonation: how a representation ends: stop (after each exchange, untimed) or cap (policy.session_ttl)")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second offered by all clients together, each on a fixed schedule (0: each client sends its next request as soon as it has its answer)")
	cpu := flag.String("cpu", "", "also report the CPU time per successful request of these processes over the measured run (Linux /proc): name=pid,... e.g. server=$(pgrep -nf 'actas serve'),redis=$(pgrep -n redis-server); the load generator's own is always reported")
	flag.Parse()
	var err error
	if o.cpu, err = parseCPUProcs(*cpu); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if o.agents == 0 {
		o.agents = o.concurrency
	}
	if err := run(*name, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(name string, o options) error {
	sc, ok := scenarios[name]
	if !ok {
		return fmt.Errorf("unknown scenario %q (have %v)", name, scenarioNames())
	}
	if err := loopbackOnly(o.url); err != nil {
		return err
	}
	if o.rate < 0 {
		return fmt.Errorf("-rate must not be negative")
	}
	o.duration = min(o.duration, 5*time.Minute)
	o.concurrency = max(1, min(o.concurrency, 1000))
	p, err := newPool(o.url, o.concurrency*2)
	if err != nil {
		return err
	}
	defer p.close()
	ctx := context.Background()
	t0 := time.Now()
	do, cleanup, err := sc(ctx, o, p)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "prepared in %s; running\n", time.Since(t0).Round(time.Millisecond))
	if cleanup != nil {
		defer cleanup()
	}
	if o.warmup > 0 {
		drive(ctx, o.warmup, o.concurrency, o.rate, o.maxRequests, do)
	}
	cpu := startCPU(o.cpu)
	res := drive(ctx, o.duration, o.concurrency, o.rate, o.maxRequests, do)
	res.print(name, o)
	fmt.Printf("  cpu per ok request: %s\n", cpu.report(res.outcomes["ok"]))
	return nil
}

type result struct {
	elapsed   time.Duration
	latencies []time.Duration // of successful requests
	outcomes  map[string]int64
}

// drive runs conc workers for d. With rate 0 (a closed loop) a worker sends its next request as
// soon as it has the answer to the last. With a rate, worker w sends its k-th request at
// start + (k + w/conc) * conc/rate, or at once when it is late; its latency counts from that
// scheduled time, so a slow answer also counts the wait it causes for the requests behind it
// (no coordinated omission).
func drive(ctx context.Context, d time.Duration, conc int, rate float64, maxReq int64, do request) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var count atomic.Int64
	var mu sync.Mutex
	res := result{outcomes: map[string]int64{}}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lats []time.Duration
			outs := map[string]int64{}
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(float64(conc) / rate * float64(time.Second))
			}
			due := start.Add(interval * time.Duration(w) / time.Duration(conc))
			for ctx.Err() == nil && count.Add(1) <= maxReq {
				if interval > 0 {
					if wait := time.Until(due); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
						}
						if ctx.Err() != nil {
							break
						}
					}
				}
				t0 := time.Now()
				class, lat, err := do(ctx, w)
				if lat == 0 {
					lat = time.Since(t0)
				}
				if interval > 0 {
					lat += t0.Sub(due) // the time this request waited behind its schedule
					due = due.Add(interval)
				}
				if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
					break // the run's end cut this request short
				}
				if err != nil && class == "" {
					class = "error"
				}
				outs[class]++
				if class == "ok" {
					lats = append(lats, lat)
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lats...)
			for k, v := range outs {
				res.outcomes[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func (r result) print(name string, o options) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*p))]
	}
	ok := r.outcomes["ok"]
	offered := "closed loop"
	if o.rate > 0 {
		offered = fmt.Sprintf("offered %.0f/s", o.rate)
	}
	fmt.Printf("scenario=%s concurrency=%d %s duration=%s\n", name, o.concurrency, offered, r.elapsed.Round(time.Millisecond))
	fmt.Printf("  ok: %d (%.0f/s)  p50=%s p90=%s p99=%s max=%s\n", ok, float64(ok)/r.elapsed.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	var keys []string
	for k := range r.outcomes {
		if k != "ok" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %s: %d\n", k, r.outcomes[k])
	}
}

func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to load %s: only loopback targets are allowed", raw)
	}
	return nil
}
