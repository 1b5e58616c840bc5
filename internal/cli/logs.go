package cli

import "github.com/spf13/cobra"

func newLogsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logs",
		Short: "(not implemented yet)",
		RunE:  notYet("logs"),
	}
}
