//go:build !shim

package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/platform/client"
)

func newDeployCmd() *cobra.Command {
	var admin string
	cmd := &cobra.Command{
		Use:   "deploy APP [DIR]",
		Short: "Roll out a new revision of an app on a running ebb up",
		Long: `ebb deploy loads the app's cerebrium.toml again (from DIR, default the
directory it was started from) and rolls out a new revision: its replicas
start, and once they are ready traffic moves to them, at once when
roll_out_duration_seconds is 0, else in 5 steps of 20% over that duration.
The old replicas are drained. A revision that never becomes ready is rolled
back and the reason printed. The command returns when the rollout ends.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 2 {
				abs, err := filepath.Abs(args[1])
				if err != nil {
					return fmt.Errorf("ebb deploy: %w", err)
				}
				dir = abs
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: rolling out a new revision...\n", args[0])
			res, err := client.New(client.Addr(admin)).Deploy(cmd.Context(), args[0], dir)
			if err != nil {
				return &ExitError{Code: 1, Message: fmt.Sprintf("ebb deploy: %v", err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: revision %d rolled out in %.1fs\n", res.App, res.Revision, res.Seconds)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "admin API address (default $"+client.AdminEnv+" or "+platform.DefaultAdmin+")")
	return cmd
}
