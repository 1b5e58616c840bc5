package cli

import "github.com/spf13/cobra"

func newScaleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scale",
		Short: "(not implemented yet)",
		RunE:  notYet("scale"),
	}
}
