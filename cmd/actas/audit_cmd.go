package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/storage"
)

// auditTailMax bounds `audit tail --n`.
const auditTailMax = 10000

// newAuditCmd is `actas audit tail|export|verify`: read and check the durable audit trail in the
// configured storage backend (docs/audit.md). Each subcommand loads the configuration like
// `config validate` (--config, --dev, ACTAS_* variables) and opens the backend.
//
// Exit codes: 0 success; 1 a broken chain (verify) or invalid configuration; 2 the trail could not
// be read (storage unreachable, memory backend).
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the audit trail (docs/audit.md)"}
	var lo config.LoadOptions
	cmd.PersistentFlags().StringVar(&lo.File, "config", "", "configuration file (YAML)")
	cmd.PersistentFlags().BoolVar(&lo.Dev, "dev", false, "apply the development defaults")

	var n int
	var asJSON bool
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest events, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > auditTailMax {
				return fmt.Errorf("--n must be 1..%d", auditTailMax)
			}
			return withTrail(cmd, lo, func(ctx context.Context, tr *audit.Trail) error {
				events, err := auditNewest(ctx, tr, n)
				if err != nil {
					return err
				}
				slices.Reverse(events)
				w := bufio.NewWriter(cmd.OutOrStdout())
				for _, e := range events {
					if asJSON {
						writeEventLine(w, e)
					} else {
						fmt.Fprintln(w, formatEvent(e))
					}
				}
				return w.Flush()
			})
		},
	}
	tail.Flags().IntVar(&n, "n", 20, "number of events")
	tail.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines instead of text")

	var since, until string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write the events of a time range as JSON Lines, oldest first (the chain's order)",
		Long: "Write the events whose time is in [--since, --until) as JSON Lines, oldest first.\n" +
			"--since and --until take an RFC 3339 time (2025-03-14T09:00:00Z) or a duration back from now (24h).\n" +
			"Each line is the event's canonical encoding with \"hash\" added (docs/audit.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			from, err := parseWhen("--since", since, now)
			if err != nil {
				return err
			}
			var to time.Time
			if until != "" {
				if to, err = parseWhen("--until", until, now); err != nil {
					return err
				}
				if !from.Before(to) {
					return errors.New("--since must be before --until")
				}
			}
			return withTrail(cmd, lo, func(ctx context.Context, tr *audit.Trail) error {
				w := bufio.NewWriter(cmd.OutOrStdout())
				if err := tr.Export(ctx, from, to, func(e audit.Event) error {
					writeEventLine(w, e)
					return nil
				}); err != nil {
					_ = w.Flush()
					return err
				}
				return w.Flush()
			})
		},
	}
	export.Flags().StringVar(&since, "since", "", "start of the range (RFC 3339, or a duration such as 24h); required")
	export.Flags().StringVar(&until, "until", "", "end of the range, exclusive (RFC 3339 or a duration); default: now")
	_ = export.MarkFlagRequired("since")

	var verifyJSON bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the chain and report the first break or gap with its position (exit 1 when broken)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTrail(cmd, lo, func(ctx context.Context, tr *audit.Trail) error {
				rep, err := tr.Verify(ctx)
				if err != nil {
					return err
				}
				if verifyJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if err := enc.Encode(rep); err != nil {
						return err
					}
				} else {
					printReport(cmd.OutOrStdout(), rep)
				}
				if b := rep.Break; b != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "actas: audit: chain broken at event #%d (position %s): %s: %s\n",
						b.Index, orNone(b.Position), b.Kind, b.Message)
					return exitError{1}
				}
				return nil
			})
		},
	}
	verify.Flags().BoolVar(&verifyJSON, "json", false, "print the report as JSON")

	cmd.AddCommand(tail, export, verify)
	return cmd
}

// withTrail loads the configuration, opens the storage backend and runs f on the audit trail.
// Configuration errors exit 1 (one line per problem, as `config validate`); a backend that cannot
// be used exits 2.
func withTrail(cmd *cobra.Command, lo config.LoadOptions, f func(context.Context, *audit.Trail) error) error {
	cfg, err := config.Load(lo)
	if err != nil {
		printConfigErrors(cmd, err)
		return exitError{1}
	}
	fail := func(err error) error {
		fmt.Fprintln(cmd.ErrOrStderr(), "actas: audit:", err)
		return exitError{2}
	}
	if cfg.Storage.Backend == config.BackendMemory {
		return fail(errors.New("the memory backend keeps the audit trail inside the serving process only; " +
			"read it with GET /api/v1/audit, or configure storage.backend: redis"))
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	kv, err := openStorage(ctx, cfg.Storage)
	if err != nil {
		return fail(err)
	}
	defer kv.Close()
	streams, ok := kv.(storage.Streams)
	if !ok {
		return fail(fmt.Errorf("storage backend %q has no streams", cfg.Storage.Backend))
	}
	o := auditOptions(cfg)
	o.Store = streams
	o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr, err := audit.New(o)
	if err != nil {
		return fail(err)
	}
	if err := f(ctx, tr); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return err
		}
		return fail(err)
	}
	return nil
}

// auditOptions maps the configuration to the trail's options. The audit.* keys (stream, max_len,
// max_age) are not in config yet: until they are, the defaults apply (see docs/audit.md).
func auditOptions(cfg *config.Config) audit.Options {
	return audit.Options{Stream: cfg.Audit.Stream, MaxLen: cfg.Audit.MaxLen, MaxAge: cfg.Audit.MaxAge}
}

// auditNewest returns the n newest events, newest first, over as many pages as needed.
func auditNewest(ctx context.Context, tr *audit.Trail, n int) ([]audit.Event, error) {
	var out []audit.Event
	cursor := ""
	for len(out) < n {
		page, next, err := tr.Query(ctx, audit.Filter{Cursor: cursor, Limit: min(n-len(out), audit.MaxLimit)})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// writeEventLine writes the event's JSON form (canonical, with "hash") and a newline, byte for
// byte as MarshalJSON gives it (no HTML escaping), so that a line can be re-hashed as documented.
func writeEventLine(w io.Writer, e audit.Event) {
	b, _ := e.MarshalJSON()
	_, _ = w.Write(append(b, '\n'))
}

// formatEvent is one human-readable line.
func formatEvent(e audit.Event) string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format(audit.TimeLayout))
	b.WriteString(" " + e.Type)
	for _, kv := range [][2]string{
		{"actor", e.Actor}, {"target", e.Target}, {"client", e.Client}, {"representation", e.RepresentationID},
		{"consent", e.ConsentID}, {"decision", e.Decision}, {"rule", e.Rule}, {"reason_code", e.ReasonCode},
		{"ticket", e.Ticket}, {"source", e.SourceAddress}, {"id", e.ID},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	return b.String()
}

func printReport(w io.Writer, r audit.Report) {
	state := "intact"
	if !r.OK {
		state = "BROKEN"
	}
	fmt.Fprintf(w, "stream:   %s\nchain:    %s\nevents:   %d checked (positions %s .. %s)\n",
		r.Stream, state, r.Events, orNone(r.First), orNone(r.Last))
	if r.Trimmed > 0 {
		fmt.Fprintf(w, "retention: %d older events trimmed (through position %s); the chain continues from the checkpoint\n",
			r.Trimmed, r.TrimmedThrough)
	}
	fmt.Fprintf(w, "head:     %s\n", orNone(r.Head))
	if b := r.Break; b != nil {
		fmt.Fprintf(w, "break:    %s at event #%d, position %s, event id %s\n          %s\n",
			b.Kind, b.Index, orNone(b.Position), orNone(b.EventID), b.Message)
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseWhen reads an RFC 3339 time or a duration back from now ("24h", "90m").
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want an RFC 3339 time (2025-03-14T09:00:00Z) or a positive duration (24h)", flag, v)
}
