package cli

import "github.com/spf13/cobra"

func newExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "(not implemented yet)",
		RunE:  notYet("export"),
	}
}
