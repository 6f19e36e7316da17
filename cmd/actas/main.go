// Command actas is the actas authorization server: an OAuth 2.0 / OpenID Connect provider whose
// purpose is safe support impersonation and delegation through RFC 8693 token exchange.
//
// This package only wires: it loads configuration, opens storage, builds the key set, the login
// pages, the provider and the grants, and serves them. Every decision lives in the packages.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Set by the linker: -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = "dev"
	revision = "unknown"
)

// exitError carries an exit code for errors that have already been reported in full.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee exitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "actas:", err)
			os.Exit(1)
		}
		os.Exit(ee.code)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "actas",
		Short:         "OAuth 2.0 / OpenID Connect server for safe support impersonation (RFC 8693)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newVersionCmd(), newConfigCmd(), newKeysCmd(), newUsersCmd(), newAuditCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "actas %s (%s)\n", version, revision)
		},
	}
}
