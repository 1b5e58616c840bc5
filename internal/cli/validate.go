//go:build !shim

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
)

func newValidateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Check a cerebrium.toml and print the effective configuration",
		Long: `Validate checks a cerebrium.toml: TOML syntax, types, unknown keys (with a
"did you mean" suggestion: Cerebrium silently ignores a misspelled key, ebb
does not), ranges, accepted values, and the rules that involve several keys.
PATH is the file or a directory holding one (default: the current directory).

When the file is valid, validate prints the effective configuration, with
every default filled in and the command taken from the Dockerfile when
entrypoint is not set, and exits 0. Warnings (things that load but will
likely not do what you want, like a shell-form Dockerfile CMD that will not
forward SIGTERM) go to stderr.

When it is not, validate prints every problem, one per line, as
FILE:LINE:COL: FIELD: MESSAGE, to stderr and exits 1.`,
		Example: `  # Check the app in the current directory
  ebb validate

  # Check a directory or a file
  ebb validate examples/hello
  ebb validate path/to/cerebrium.toml

  # The effective configuration as JSON, for scripts
  ebb validate --json examples/hello`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			return runValidate(cmd, path, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the effective configuration as JSON")
	return cmd
}

func runValidate(cmd *cobra.Command, path string, asJSON bool) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	cfg, err := config.Load(path)
	var errs config.Errors
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		noun := "problems"
		if len(errs) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(stderr, "ebb validate: %d %s in %s\n", len(errs), noun, displayConfigPath(path))
		return &ExitError{Code: 1}
	case err != nil:
		return &ExitError{Code: 1, Message: "ebb validate: " + err.Error()}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if asJSON {
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fmt.Fprintf(stdout, "# %s is valid. The effective configuration, with defaults filled in:\n\n", displayConfigPath(path))
	return cfg.WriteTOML(stdout)
}

// displayConfigPath names the file Load reads for path, as the user wrote it.
func displayConfigPath(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, config.FileName)
	}
	return path
}
