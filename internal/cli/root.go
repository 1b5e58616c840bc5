// Package cli is the ebb command tree. Each command lives in its own file
// and only parses flags before calling into a library package.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// ExitError makes a command exit with Code. Message, when not empty, is
// printed to stderr first.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Main runs the ebb command line and returns the process exit code.
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Message != "" {
			fmt.Fprintln(stderr, ee.Message)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ebb",
		Short: "A self-hostable serverless runtime for HTTP apps that never drops a request",
		Long: `ebb runs HTTP apps described by a Cerebrium-compatible cerebrium.toml.

It routes requests only to ready replicas, enforces replica_concurrency,
autoscales, rolls out revisions, and drains every replica it stops:
stop routing, SIGTERM, wait response_grace_period, then SIGKILL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, g := range []struct {
		group *cobra.Group
		cmds  []*cobra.Command
	}{
		{&cobra.Group{ID: "app", Title: "App commands:"}, appCommands()},
		{&cobra.Group{ID: "platform", Title: "Platform commands (talk to a running 'ebb up'):"}, platformCommands()},
	} {
		if len(g.cmds) == 0 {
			continue
		}
		root.AddGroup(g.group)
		for _, c := range g.cmds {
			c.GroupID = g.group.ID
			root.AddCommand(c)
		}
	}
	root.AddCommand(newVersionCmd())
	return root
}
