//go:build !shim

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/scaffold"
)

// envEbbModuleDir names the environment variable that gives --ebb-module's
// default.
const envEbbModuleDir = "EBB_MODULE_DIR"

func newInitCmd() *cobra.Command {
	var name, ebbModule string
	var port int
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a new app: cerebrium.toml, go.mod, main.go and a Dockerfile",
		Long: `Init creates a new Go app in DIR (default: the current directory, created if
missing):

  cerebrium.toml  the app's configuration, named after DIR
  go.mod          the app's module, named like the app; it requires
                  github.com/ebb-run/ebb at this ebb's version
  main.go         an HTTP server on $PORT with POST /hello, built on package
                  github.com/ebb-run/ebb/graceful: it answers /ready, and on
                  SIGTERM answers 503 there, finishes requests in flight and
                  runs its shutdown hooks
  Dockerfile      builds the app and runs it under 'ebb run'

Init never overwrites a file: if any of the four exists, it writes none.

An ebb built from a source checkout has no published version to require.
Pass --ebb-module (or set ` + envEbbModuleDir + `) to the root of that checkout:
go.mod then replaces github.com/ebb-run/ebb with it, and the app builds
offline. Without it, 'go mod tidy' adds the latest published version.`,
		Example: `  # A new app in ./my-app, named my-app
  ebb init my-app
  cd my-app && go mod tidy && go run .

  # In the current directory, with a name of your choice
  ebb init --name hello-api

  # Against a checkout of ebb
  ebb init --ebb-module ~/src/ebb my-app`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if ebbModule == "" {
				ebbModule = os.Getenv(envEbbModuleDir)
			}
			info, _ := debug.ReadBuildInfo()
			return runInit(cmd, dir, name, port, ebbModule, releaseVersion(versionString(info)))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "app name (default: DIR's name, lowercased, other characters turned into dashes)")
	cmd.Flags().IntVar(&port, "port", 8000, "port the app listens on when $PORT is not set")
	cmd.Flags().StringVar(&ebbModule, "ebb-module", "", "root of a checkout of ebb for go.mod's replace directive (default $"+envEbbModuleDir+")")
	return cmd
}

// releasePattern matches a semantic version that the module proxy can
// serve: not a pseudo-version, no build metadata (such as +dirty).
var releasePattern = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

// pseudoPattern matches the tail of a pseudo-version: a commit, not a release.
var pseudoPattern = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// releaseVersion is v when it names a published release of ebb, otherwise
// "" (a development build: "devel", a pseudo-version, a +dirty build).
func releaseVersion(v string) string {
	if !releasePattern.MatchString(v) || pseudoPattern.MatchString(v) {
		return ""
	}
	return v
}

func runInit(cmd *cobra.Command, dir, name string, port int, ebbModule, ebbVersion string) error {
	if name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		name = config.SanitizeName(filepath.Base(abs))
		if name == "" {
			return &ExitError{Code: 1, Message: fmt.Sprintf("ebb init: cannot make an app name from %q; pass --name", filepath.Base(abs))}
		}
	} else if !config.ValidName(name) {
		hint := ""
		if s := config.SanitizeName(name); s != "" {
			hint = fmt.Sprintf(", like %q", s)
		}
		return &ExitError{Code: 1, Message: fmt.Sprintf("ebb init: %q is not a valid app name; use lowercase letters, digits and dashes%s", name, hint)}
	}
	if port < 1 || port > 65535 {
		return &ExitError{Code: 1, Message: fmt.Sprintf("ebb init: port %d is out of range; accepted: 1 to 65535", port)}
	}
	data := scaffold.Data{Name: name, Port: port, EbbVersion: ebbVersion}
	if ebbModule != "" {
		abs, err := scaffold.CheckModuleDir(ebbModule)
		if err != nil {
			return &ExitError{Code: 1, Message: "ebb init: --ebb-module: " + err.Error()}
		}
		data.EbbModuleDir = abs
	}
	files, err := scaffold.Files(data)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := scaffold.Write(dir, files); err != nil {
		var ee *scaffold.ExistsError
		if errors.As(err, &ee) {
			return &ExitError{Code: 1, Message: "ebb init: " + ee.Error() + "; nothing was written"}
		}
		return &ExitError{Code: 1, Message: "ebb init: " + err.Error()}
	}

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Created app %q in %s:\n", name, dir)
	for _, f := range files {
		fmt.Fprintf(out, "  %-15s %s\n", f.Name, f.About)
	}
	switch {
	case data.EbbModuleDir != "":
		fmt.Fprintf(out, "\ngo.mod replaces %s with %s.\n", scaffold.ModulePath, data.EbbModuleDir)
	case ebbVersion == "":
		fmt.Fprintf(out, "\nThis ebb is a development build: 'go mod tidy' adds the latest published\n"+
			"%s. To build against your checkout instead, run init with\n"+
			"--ebb-module /path/to/ebb (or set %s).\n", scaffold.ModulePath, envEbbModuleDir)
	}
	fmt.Fprintln(out, "\nNext steps:")
	if dir != "." {
		fmt.Fprintf(out, "  cd %s\n", shellQuote(dir))
	}
	fmt.Fprintln(out, "  go mod tidy             # resolve github.com/ebb-run/ebb and write go.sum")
	fmt.Fprintln(out, "  ebb validate            # check cerebrium.toml and see every default")
	fmt.Fprintf(out, "  go run .                # then: curl -X POST localhost:%d/hello\n", port)
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
