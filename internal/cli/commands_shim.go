//go:build shim

package cli

import "github.com/spf13/cobra"

// The shim build (`go build -tags shim ./cmd/ebb`) holds only `ebb run` and
// `ebb version`: what a container image needs. Leaving the platform, the
// checker and the exporter out keeps the shim's resident memory
// low, since every package linked in is initialised at start.

func appCommands() []*cobra.Command { return []*cobra.Command{newRunCmd()} }

func platformCommands() []*cobra.Command { return nil }
