//go:build !shim

package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/check"
	"github.com/ebb-run/ebb/internal/supervisor"
)

// defaultCheckGrace is the grace period tested when there is no config.
const defaultCheckGrace = 30 * time.Second

func newCheckCmd() *cobra.Command {
	var (
		configPath     string
		method         string
		path           string
		data           string
		slowPath       string
		inFlight       int
		grace          seconds
		readyPath      string
		port           int
		startupTimeout seconds
		asJSON         bool
		verbose        bool
	)
	cmd := &cobra.Command{
		Use:   "check [flags] [-- COMMAND [ARGS...]]",
		Short: "Test an app's termination behaviour and say exactly what is wrong",
		Long: `ebb check starts the app with PORT set (on a free port; "$PORT" in the
command is expanded), waits until it is ready, sends a few baseline
requests, holds requests in flight, and sends SIGTERM to the process it
started. Then it watches every few milliseconds, until the app exits or
SIGKILL ends it at the grace period: the readiness endpoint's answers, what
new requests get (served, 503 with Connection: close, refused, reset, hung,
another status), whether each in-flight request completes with its whole
body, when the app exits and with what code, and whether any process of its
group is left behind.

It prints a timeline and a PASS / WARN / FAIL verdict per property, each
with one line on how to fix it:

  in-flight requests complete, readiness flips to not-ready, new requests
  get a usable answer, exits promptly once idle, exit code 0 or 143,
  SIGTERM reaches the server, no leftover processes.

The command defaults to the entrypoint of ./cerebrium.toml (or --config),
the grace period to its response_grace_period (30 s without a config) and
the readiness path to its readycheck_endpoint. Exit status: 0 when no
verdict is FAIL, 1 when one is, 2 when the check could not be made (the app
did not start or never became ready). See docs/check.md.`,
		Example: `  # The app of ./cerebrium.toml, holding three 5-second requests across the SIGTERM:
  ebb check --slow-path "/slow?seconds=5" --grace 10

  # Any command; POST requests as the normal traffic, JSON for CI:
  ebb check --method POST --path /hello --ready-path /ready --json -- \
      uvicorn main:app --host 127.0.0.1 --port '$PORT'

  # Does a shell-form entrypoint pass SIGTERM on?
  ebb check --ready-path /ready -- sh -c "./server; echo stopped"`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			o := check.Options{
				Argv: args, Method: method, Path: path, Data: data,
				SlowPath: slowPath, InFlight: inFlight, Port: port,
				Grace: defaultCheckGrace, StartupTimeout: time.Duration(startupTimeout),
			}
			cfg, err := loadCheckConfig(configPath)
			if err != nil {
				return &ExitError{Code: 2, Message: "ebb check: " + err.Error()}
			}
			if cfg != nil {
				rt := cfg.Runtime.Custom
				o.ConfiguredPort = rt.Port
				o.ReadyPath = rt.ReadycheckEndpoint
				o.Grace = cfg.Scaling.GracePeriod()
				if !f.Changed("startup-timeout") {
					o.StartupTimeout = cfg.Deployment.InitTimeout()
				}
				if len(o.Argv) == 0 {
					o.Argv, o.Dir = rt.Entrypoint, cfg.Dir
				}
			}
			if len(o.Argv) == 0 {
				return &ExitError{Code: 2, Message: "ebb check: no command: give one after --, e.g. ebb check -- ./server, or set entrypoint in cerebrium.toml"}
			}
			if f.Changed("grace") {
				o.Grace = time.Duration(grace)
			}
			if f.Changed("ready-path") {
				o.ReadyPath = readyPath
			}
			if verbose {
				o.Output = &supervisor.LineWriter{W: cmd.ErrOrStderr(), Prefix: "app | "}
			}

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if !asJSON {
				fmt.Fprintf(cmd.ErrOrStderr(), "ebb check: running %q (grace period %v)...\n", o.Argv, o.Grace)
			}
			r, err := check.Run(ctx, o)
			if err != nil {
				return &ExitError{Code: 2, Message: "ebb check: " + err.Error()}
			}
			if asJSON {
				err = r.WriteJSON(cmd.OutOrStdout())
			} else {
				err = r.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return &ExitError{Code: 2, Message: "ebb check: " + err.Error()}
			}
			if !r.OK {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&configPath, "config", "", "cerebrium.toml to read (default ./cerebrium.toml when present)")
	f.StringVar(&method, "method", "GET", "method of the normal request")
	f.StringVar(&path, "path", "/", "path of the normal request (baseline, concurrent clients, new requests during the drain)")
	f.StringVar(&data, "data", "", "body of the normal request (sent as application/json)")
	f.StringVar(&slowPath, "slow-path", "", `GET path of a slow request to hold in flight, e.g. "/slow?seconds=5"; without it the normal request is sent by concurrent clients`)
	f.IntVar(&inFlight, "inflight", 0, "slow requests (default 3) or concurrent clients (default 8) in flight at SIGTERM")
	f.Var(&grace, "grace", "time from SIGTERM to SIGKILL (default scaling.response_grace_period, 30 s without a config)")
	f.StringVar(&readyPath, "ready-path", "", `readiness path (default runtime.custom.readycheck_endpoint; "" = TCP check)`)
	f.IntVar(&port, "port", 0, "port to run the app on (default a free one; the configured port named in the command is rewritten)")
	f.Var(&startupTimeout, "startup-timeout", "how long the app may take to become ready (default deployment_initialization_timeout, 60 s without a config)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "show the app's output as it runs")
	return cmd
}

// loadCheckConfig reads the config named by path, else ./cerebrium.toml
// when there is one; nil when there is none.
func loadCheckConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(config.FileName); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		path = config.FileName
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}
