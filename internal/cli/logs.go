//go:build !shim

package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/platform/client"
)

func newLogsCmd() *cobra.Command {
	var (
		admin, replica string
		follow         bool
		n              int
	)
	cmd := &cobra.Command{
		Use:   "logs APP [-f]",
		Short: "Show an app's replica output on a running ebb up",
		Long: `ebb logs prints the last lines the app's replicas wrote (each with its
replica id) and ebb's own events about the app; -f keeps printing new lines
until interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := client.New(client.Addr(admin)).Logs(ctx, args[0], n, replica, follow, cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("ebb logs: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "admin API address (default $"+client.AdminEnv+" or "+platform.DefaultAdmin+")")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().IntVarP(&n, "lines", "n", 100, "how many recent lines to print")
	cmd.Flags().StringVar(&replica, "replica", "", "only this replica's lines (e.g. r3)")
	return cmd
}
