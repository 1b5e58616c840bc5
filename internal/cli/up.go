package cli

import "github.com/spf13/cobra"

func newUpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "(not implemented yet)",
		RunE:  notYet("up"),
	}
}
