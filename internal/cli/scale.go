//go:build !shim

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/platform/client"
)

func newScaleCmd() *cobra.Command {
	var (
		admin    string
		min, max int
	)
	cmd := &cobra.Command{
		Use:   "scale APP --min N --max M",
		Short: "Set an app's replica bounds on a running ebb up",
		Long: `ebb scale sets min_replicas and max_replicas of a running app. Without an
autoscaler the app runs min replicas; replicas it no longer needs are
drained through the termination sequence. A flag left out keeps its value.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(client.Addr(admin))
			if !cmd.Flags().Changed("min") || !cmd.Flags().Changed("max") {
				if !cmd.Flags().Changed("min") && !cmd.Flags().Changed("max") {
					return &ExitError{Code: 2, Message: "ebb scale: give --min, --max or both"}
				}
				cur, err := c.App(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("ebb scale: %w", err)
				}
				if !cmd.Flags().Changed("min") {
					min = cur.Min
				}
				if !cmd.Flags().Changed("max") {
					max = cur.Max
				}
			}
			st, err := c.Scale(cmd.Context(), args[0], min, max)
			if err != nil {
				return fmt.Errorf("ebb scale: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: min %d, max %d, desired %d (%d ready now)\n", st.Name, st.Min, st.Max, st.Desired, st.Ready)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "admin API address (default $"+client.AdminEnv+" or "+platform.DefaultAdmin+")")
	cmd.Flags().IntVar(&min, "min", 0, "min_replicas")
	cmd.Flags().IntVar(&max, "max", 0, "max_replicas")
	return cmd
}
