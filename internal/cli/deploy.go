package cli

import "github.com/spf13/cobra"

func newDeployCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "deploy",
		Short: "(not implemented yet)",
		RunE:  notYet("deploy"),
	}
}
