package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/scaffold"
)

func newInitCmd() *cobra.Command {
	var name string
	var port int
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a new app: cerebrium.toml, main.go and a Dockerfile",
		Long: `Init creates a new app in DIR (default: the current directory, created if
missing):

  cerebrium.toml  the app's configuration, named after DIR
  main.go         an HTTP server on $PORT with /hello and /ready that
                  answers 503 on /ready and finishes requests in flight
                  when it receives SIGTERM
  Dockerfile      builds the app and runs it under 'ebb run'

Init never overwrites a file: if any of the three exists, it writes none.`,
		Example: `  # A new app in ./my-app, named my-app
  ebb init my-app

  # In the current directory, with a name of your choice
  ebb init --name hello-api`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runInit(cmd, dir, name, port)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "app name (default: DIR's name, lowercased, other characters turned into dashes)")
	cmd.Flags().IntVar(&port, "port", 8000, "port the app listens on when $PORT is not set")
	return cmd
}

func runInit(cmd *cobra.Command, dir, name string, port int) error {
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
	files, err := scaffold.Files(scaffold.Data{Name: name, Port: port})
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
	fmt.Fprintln(out, "\nNext steps:")
	if dir != "." {
		fmt.Fprintf(out, "  cd %s\n", shellQuote(dir))
	}
	fmt.Fprintf(out, "  go mod init %s\n", name)
	fmt.Fprintln(out, "  ebb validate            # check cerebrium.toml and see every default")
	fmt.Fprintf(out, "  go run .                # then: curl localhost:%d/hello\n", port)
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
