//go:build !shim

package cli

import "github.com/spf13/cobra"

// appCommands are the commands that work on an app and its cerebrium.toml.
func appCommands() []*cobra.Command {
	return []*cobra.Command{
		newValidateCmd(), newInitCmd(), newRunCmd(), newCheckCmd(), newExportCmd(), newUpCmd(),
	}
}

// platformCommands talk to a running `ebb up`.
func platformCommands() []*cobra.Command {
	return []*cobra.Command{
		newStatusCmd(), newScaleCmd(), newDeployCmd(), newMigrateCmd(), newLogsCmd(),
	}
}
