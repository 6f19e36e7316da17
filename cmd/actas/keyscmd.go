package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/oauth/keys"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage signing keys"}
	var alg, out string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate a private signing key (PKCS#8 PEM) and print its kid",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := keys.Generate(alg)
			if err != nil {
				return err
			}
			pem, err := keys.EncodePEM(k)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(pem)
				fmt.Fprintf(cmd.ErrOrStderr(), "kid: %s\nalg: %s\n", k.KID, k.Alg)
				return err
			}
			if err := os.WriteFile(out, pem, 0o600); err != nil {
				return fmt.Errorf("keys generate: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n  - kid: %s\n    alg: %s\n    state: next\n    file: %s\n", out, k.KID, k.Alg, out)
			return nil
		},
	}
	gen.Flags().StringVar(&alg, "alg", "ES256", "algorithm: RS256, ES256 or EdDSA")
	gen.Flags().StringVar(&out, "out", "", "write the key to this file (mode 0600) instead of stdout")
	cmd.AddCommand(gen)
	return cmd
}
