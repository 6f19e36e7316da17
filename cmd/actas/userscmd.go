package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/oauth/login"
)

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Produce values for the users section of the configuration"}
	hash := &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password from standard input and print its argon2id hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				if err != nil {
					return errors.New("hash-password: give the password on standard input")
				}
				return errors.New("hash-password: the password is empty")
			}
			h, err := login.HashPassword(pw)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
	var issuer string
	totp := &cobra.Command{
		Use:   "totp-secret ACCOUNT",
		Short: "Generate a TOTP secret and its otpauth:// URI for an authenticator app",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, uri, err := login.NewTOTPSecret(issuer, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "totp_secret: %s\notpauth_uri: %s\n", secret, uri)
			return nil
		},
	}
	totp.Flags().StringVar(&issuer, "issuer", "actas", "issuer label shown by authenticator apps")
	cmd.AddCommand(hash, totp, newTOTPCodeCmd())
	return cmd
}

func newTOTPCodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "totp-code SECRET",
		Short: "Print the current TOTP code for a base32 secret (for demo walkthroughs and scripts)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := totp.GenerateCode(strings.ToUpper(strings.TrimSpace(args[0])), time.Now())
			if err != nil {
				return fmt.Errorf("totp-code: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), code)
			return nil
		},
	}
}
