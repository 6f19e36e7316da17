package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/internal/httpx"
	"github.com/actas-dev/actas/internal/logging"
)

func newServeCmd() *cobra.Command {
	var file, addr, opsAddr, issuer string
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: "Run the server. Give --config FILE (YAML; ACTAS_* environment variables override its scalar keys)\n" +
			"or --dev (embedded in-memory store, fresh signing keys, the demo users and clients).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := map[string]string{}
			if addr != "" {
				flags["server.public.addr"] = addr
			}
			if opsAddr != "" {
				flags["server.ops.addr"] = opsAddr
			}
			if issuer != "" {
				flags["issuer"] = issuer
			}
			cfg, err := config.Load(config.LoadOptions{File: file, Dev: dev, Flags: flags})
			if err != nil {
				printConfigErrors(cmd, err)
				return exitError{1}
			}
			tuneGC()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "configuration file (YAML)")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: in-memory store, generated keys, demo data")
	cmd.Flags().StringVar(&addr, "addr", "", "public listen address (server.public.addr)")
	cmd.Flags().StringVar(&opsAddr, "ops-addr", "", "ops listen address for /healthz, /readyz, /metrics (server.ops.addr)")
	cmd.Flags().StringVar(&issuer, "issuer", "", "issuer URL (issuer)")
	return cmd
}

// defaultGCPercent is the garbage collector's target when GOGC is not set (Go's own default is 100).
//
// A replica on Redis keeps a small live heap (tens of MB) and allocates tens of kilobytes per token
// request, so at Go's default the collector runs dozens of times a second and takes a fifth of the
// CPU under load; at 400 a replica issues about a third more tokens per second for about 20 MB more
// resident memory. Set GOGC (and GOMEMLIMIT in a memory-limited container) to choose otherwise:
// docs/operations.md.
const defaultGCPercent = 400

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// serve builds the application and runs both listeners until ctx ends, then drains.
func serve(ctx context.Context, cfg *config.Config, stderr io.Writer) error {
	log, err := logging.New(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	slog.SetDefault(log)
	routeRedisLogs(log)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	public := a.publicServer()
	ops := a.opsServer()
	if err := httpx.Listen(public, ops); err != nil {
		return err
	}
	a.ready.Start(ctx)
	log.Info("actas serving", "version", version, "issuer", cfg.Issuer, "public_addr", public.Addr(),
		"ops_addr", ops.Addr(), "storage", cfg.Storage.Backend, "dev", cfg.Dev)
	if cfg.Dev {
		printDevBanner(stderr, cfg)
	}
	return httpx.Run(ctx, log, a.ready, cfg.Server.ShutdownTimeout, public, ops)
}

func printDevBanner(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, `
  actas is running in DEVELOPMENT mode (%s storage, keys generated at start; nothing here is for production).
  Issuer:     %[2]s
  Discovery:  %[2]s/.well-known/openid-configuration
  Ops:        http://%[3]s/readyz  http://%[3]s/metrics

  Demo users (password "<name>-demo-pass"): customers alice, bob, carol, dave; support agent sam;
  admin ada; super admin sue; auditor otto (staff have TOTP: secrets in docs/dev.md).
  Demo clients: demo-spa (public, PKCE), demo-mobile (public), demo-console (confidential), demo-api.
  Walkthrough: docs/dev.md

`, cfg.Storage.Backend, cfg.Issuer, cfg.Server.Ops.Addr)
}
