package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server defaults, used for zero fields of [Timeouts].
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultShutdownTimeout   = 15 * time.Second
)

// Timeouts bounds what one connection may cost. Zero fields take the Default* values; there is no way
// to switch a timeout off, on purpose (a slow client must not hold a connection for ever).
type Timeouts struct {
	ReadHeader     time.Duration // until the request header is read (slowloris)
	Read           time.Duration // until the whole request, body included, is read
	Write          time.Duration // from the end of the request header to the end of the response
	Idle           time.Duration // between requests on a keep-alive connection
	MaxHeaderBytes int           // request line plus header
}

// NewServer returns an *http.Server for h on addr with every timeout set (see [Timeouts]) and the
// server's own error log (TLS handshake errors, accept errors) routed to slog.Default() at warn level;
// call it after slog.SetDefault, or set ErrorLog yourself.
func NewServer(addr string, h http.Handler, t Timeouts) *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	maxHeader := t.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: or(t.ReadHeader, DefaultReadHeaderTimeout),
		ReadTimeout:       or(t.Read, DefaultReadTimeout),
		WriteTimeout:      or(t.Write, DefaultWriteTimeout),
		IdleTimeout:       or(t.Idle, DefaultIdleTimeout),
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
}

// NamedServer is one listener of the process ("public", "ops").
type NamedServer struct {
	Name   string       // used in logs and errors
	Server *http.Server // Server.Addr is where Listen binds
	// Listener is set by Listen (or by the caller, to serve on a listener it made). Run serves on it.
	Listener net.Listener
}

// Addr returns the bound address (useful after listening on ":0"), or Server.Addr before Listen.
func (s *NamedServer) Addr() string {
	if s.Listener != nil {
		return s.Listener.Addr().String()
	}
	return s.Server.Addr
}

// Listen binds every server that has no Listener yet, on its Server.Addr (TCP). If one address cannot
// be bound, it closes the listeners it opened and returns one error naming the server and the address
// (e.g. "public server: listen tcp 127.0.0.1:8080: bind: address already in use").
func Listen(servers ...*NamedServer) error {
	var opened []*NamedServer
	for _, s := range servers {
		if s.Listener != nil {
			continue
		}
		if s.Server.Addr == "" {
			closeListeners(opened)
			return fmt.Errorf("%s server: no listen address", s.Name)
		}
		ln, err := net.Listen("tcp", s.Server.Addr)
		if err != nil {
			closeListeners(opened)
			return fmt.Errorf("%s server: %w", s.Name, err)
		}
		s.Listener = ln
		opened = append(opened, s)
	}
	return nil
}

func closeListeners(servers []*NamedServer) {
	for _, s := range servers {
		_ = s.Listener.Close()
		s.Listener = nil
	}
}

// Run binds every server first ([Listen], so a bad or used address fails fast with one clear error
// before anything serves), then serves them all until ctx is done (wire SIGINT/SIGTERM with
// signal.NotifyContext) or one of them fails. Then it shuts down gracefully:
//
//  1. readiness turns red ([Readiness.SetDraining]) and keep-alives are switched off;
//  2. it keeps serving for the drain delay ([Readiness.SetDrainDelay]) so load balancers notice
//     (skipped when a server failed);
//  3. [http.Server.Shutdown] on every server within shutdownTimeout (0: DefaultShutdownTimeout): the
//     listeners close, so new connections are refused, and in-flight requests run to their end.
//     Connections still busy at the deadline are closed.
//
// It returns nil after a clean shutdown, else the serve and shutdown errors joined. ready may be nil.
func Run(ctx context.Context, log *slog.Logger, ready *Readiness, shutdownTimeout time.Duration, servers ...*NamedServer) error {
	if log == nil {
		log = slog.Default()
	}
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}
	if err := Listen(servers...); err != nil {
		return err
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		if s.Server.ErrorLog == nil {
			s.Server.ErrorLog = slog.NewLogLogger(log.With("server", s.Name).Handler(), slog.LevelWarn)
		}
		log.Info("listening", "server", s.Name, "addr", s.Addr())
		go func() {
			err := s.Server.Serve(s.Listener)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			} else {
				err = fmt.Errorf("%s server on %s: %w", s.Name, s.Addr(), err)
			}
			errc <- err
		}()
	}

	pending := len(servers)
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx))
	case serveErr = <-errc:
		pending--
		if serveErr != nil {
			log.Error("server failed, shutting down the others", "error", serveErr)
		} else {
			log.Warn("a server was closed, shutting down the others")
		}
	}

	if ready != nil {
		ready.SetDraining()
	}
	for _, s := range servers {
		s.Server.SetKeepAlivesEnabled(false)
	}
	if ready != nil && serveErr == nil {
		if d := ready.DrainDelay(); d > 0 {
			log.Info("draining before shutdown", "delay", d)
			time.Sleep(d)
		}
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	errs := []error{serveErr}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			if err := s.Server.Shutdown(sctx); err != nil {
				_ = s.Server.Close()
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s server: shutdown: %w", s.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		log.Error("shutdown finished with errors", "error", err)
	} else {
		log.Info("shutdown complete")
	}
	return err
}
