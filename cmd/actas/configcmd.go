package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the configuration"}
	var file string
	var dev bool
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Load and validate the configuration; print it with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.LoadOptions{File: file, Dev: dev})
			if err != nil {
				printConfigErrors(cmd, err)
				return exitError{1}
			}
			if err := cfg.Redacted().Print(cmd.OutOrStdout()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "configuration is valid")
			return nil
		},
	}
	validate.Flags().StringVar(&file, "config", "", "configuration file (YAML)")
	validate.Flags().BoolVar(&dev, "dev", false, "apply the development defaults")
	cmd.AddCommand(validate)
	return cmd
}

// printConfigErrors prints one line per problem, each naming its key.
func printConfigErrors(cmd *cobra.Command, err error) {
	w := cmd.ErrOrStderr()
	if fes := config.FieldErrors(err); len(fes) > 0 {
		for _, fe := range fes {
			fmt.Fprintln(w, "actas: config:", fe.Error())
		}
		return
	}
	fmt.Fprintln(w, "actas: config:", err)
}
