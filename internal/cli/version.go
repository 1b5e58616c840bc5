package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is ebb's version. Release builds set it with
//
//	go build -ldflags "-X github.com/ebb-run/ebb/internal/cli.Version=v1.2.3" ./cmd/ebb
//
// When empty, the module version from the build info is used ("devel" for a
// build from a checkout).
var Version = ""

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print ebb's version, Go version and platform",
		Example: `  ebb version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ebb %s\n", versionString(info))
			fmt.Fprintf(out, "go: %s\n", runtime.Version())
			fmt.Fprintf(out, "platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
			if rev := vcsRevision(info); rev != "" {
				fmt.Fprintf(out, "commit: %s\n", rev)
			}
			return nil
		},
	}
}

// versionString is Version, else the main module's version, else "devel".
func versionString(info *debug.BuildInfo) string {
	if Version != "" {
		return Version
	}
	if info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// vcsRevision is the commit the binary was built from, when the build
// recorded it, with "+dirty" for a modified tree.
func vcsRevision(info *debug.BuildInfo) string {
	if info == nil {
		return ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "+dirty"
	}
	return rev
}
