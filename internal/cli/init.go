package cli

import "github.com/spf13/cobra"

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "(not implemented yet)",
		RunE:  notYet("init"),
	}
}
