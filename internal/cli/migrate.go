//go:build !shim

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/platform/client"
)

func newMigrateCmd() *cobra.Command {
	var admin string
	cmd := &cobra.Command{
		Use:   "migrate APP REPLICA",
		Short: "Replace one replica as a platform does when it moves work off a node",
		Long: `ebb migrate starts a replacement for REPLICA (an id from ebb status, such as
r3), waits until it is ready, then drains the old replica through the
termination sequence. It returns when the old replica is gone.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := client.New(client.Addr(admin)).Migrate(cmd.Context(), args[0], args[1])
			if err != nil {
				return &ExitError{Code: 1, Message: fmt.Sprintf("ebb migrate: %v", err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: migrated %s to %s in %.1fs\n", res.App, res.From, res.To, res.Seconds)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "admin API address (default $"+client.AdminEnv+" or "+platform.DefaultAdmin+")")
	return cmd
}
