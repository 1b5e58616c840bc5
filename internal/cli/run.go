package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/shim"
	"github.com/ebb-run/ebb/internal/supervisor"
)

// defaultRunAdmin is where `ebb run` serves /metrics unless --admin says
// otherwise: loopback only, so metrics are not exposed with the app.
const defaultRunAdmin = "127.0.0.1:9091"

func newRunCmd() *cobra.Command {
	var (
		configPath  string
		listen      string
		admin       string
		port        int
		queue       int
		concurrency int
		readyPath   string
		healthPath  string
		lameDuck    seconds
		grace       seconds
		initTimeout seconds
		eventLoops  bool
	)
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Run an app behind a shim that drains it correctly on SIGTERM",
		Long: `ebb run starts COMMAND and serves it on the configured port, giving any app
correct graceful termination without changing a line of it.

The app is started on a free internal port, passed as PORT; "$PORT" and
"${PORT}" in the command are expanded, and where the command names the
configured port literally ("--port 8000", "0.0.0.0:8000") it is rewritten.
Readiness (readycheck_endpoint) answers 503 until the app is ready and from
the moment SIGTERM arrives; replica_concurrency is enforced with a bounded
FIFO queue. On SIGTERM, new requests get 503 with Connection: close, requests
in flight finish, and only then does the app get SIGTERM; SIGKILL follows at
response_grace_period. ebb run exits with the app's exit status.

Settings come from ./cerebrium.toml when present (or --config), and flags
override them. Without a command, the config's entrypoint is run.
See docs/run.md.`,
		Example: `  # In a Dockerfile:
  CMD ["ebb", "run", "--", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]

  # A shell-form command still gets its SIGTERM (the whole process group is signalled):
  ebb run -- sh -c "python3 server.py --port 8000"

  # Override the config: 4 requests at a time, 5 s lame duck, 30 s grace period:
  ebb run --concurrency 4 --lame-duck 5 --grace 30 -- node server.js`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadRunConfig(configPath)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			rt := cfg.Runtime.Custom
			if f.Changed("port") {
				rt.Port = port
			}
			o := shim.Options{
				Command:     args,
				Dir:         "",
				Stdout:      os.Stdout,
				Stderr:      os.Stderr,
				Listen:      net.JoinHostPort("0.0.0.0", strconv.Itoa(rt.Port)),
				Admin:       admin,
				Port:        rt.Port,
				ReadyPath:   rt.ReadycheckEndpoint,
				HealthPath:  rt.HealthcheckEndpoint,
				Concurrency: cfg.Scaling.ReplicaConcurrency,
				Queue:       queue,
				InitTimeout: cfg.Deployment.InitTimeout(),
				LameDuck:    time.Duration(lameDuck),
				NoFastPath:  !eventLoops,
				Grace:       cfg.Scaling.GracePeriod(),
				Reap:        supervisor.ShouldReap(),

				ForwardSignals: true,
			}
			if len(o.Command) == 0 {
				o.Command = rt.Entrypoint
				if cfg.Dir != "" {
					o.Dir = cfg.Dir
				}
			}
			if len(o.Command) == 0 {
				return &ExitError{Code: 2, Message: "ebb run: no command: give one after --, e.g. ebb run -- uvicorn main:app --port 8000, or set entrypoint in cerebrium.toml"}
			}
			if f.Changed("listen") {
				o.Listen = listen
			}
			if f.Changed("concurrency") {
				o.Concurrency = concurrency
			}
			if f.Changed("ready-path") {
				o.ReadyPath = readyPath
			}
			if f.Changed("health-path") {
				o.HealthPath = healthPath
			}
			if f.Changed("grace") {
				o.Grace = time.Duration(grace)
			}
			if f.Changed("init-timeout") {
				o.InitTimeout = time.Duration(initTimeout)
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("component", "ebb-run")

			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
			defer stop()
			err = shim.Run(ctx, o)
			var exit *shim.AppExitError
			if errors.As(err, &exit) {
				return &ExitError{Code: exit.Code}
			}
			if err != nil {
				return &ExitError{Code: 1, Message: "ebb run: " + err.Error()}
			}
			return nil
		},
	}
	f := cmd.Flags()
	// Everything from the first argument that is not a flag belongs to the
	// app, so "ebb run uvicorn main:app --port 8000" works without "--".
	f.SetInterspersed(false)
	f.StringVar(&configPath, "config", "", "cerebrium.toml to read (default ./cerebrium.toml when present)")
	f.StringVar(&listen, "listen", "", "address to serve on (default 0.0.0.0:<port>)")
	f.StringVar(&admin, "admin", defaultRunAdmin, `address of the /metrics listener; "" disables it`)
	f.IntVar(&port, "port", 0, "the app's configured port (runtime.custom.port; default 8000)")
	f.IntVar(&concurrency, "concurrency", 0, "most requests the app gets at once (scaling.replica_concurrency)")
	f.IntVar(&queue, "queue", 0, "requests that may wait for a slot before 503 (default 10 x concurrency, at least 100; -1: none)")
	f.StringVar(&readyPath, "ready-path", "", `readiness path answered by ebb run (runtime.custom.readycheck_endpoint; "" = TCP check)`)
	f.StringVar(&healthPath, "health-path", "", "health path passed through (runtime.custom.healthcheck_endpoint)")
	f.Var(&lameDuck, "lame-duck", "after SIGTERM, keep serving for this long while readiness answers 503 (seconds or a duration like 500ms)")
	f.Var(&grace, "grace", "time from SIGTERM to SIGKILL (scaling.response_grace_period; seconds or a duration)")
	f.BoolVar(&eventLoops, "event-loops", true, "serve common requests from epoll event loops (Linux); false: net/http for all")
	f.Var(&initTimeout, "init-timeout", "how long requests wait for the app to become ready (deployment.deployment_initialization_timeout)")
	return cmd
}

// loadRunConfig reads the config named by --config, else ./cerebrium.toml
// when there is one, else the defaults.
func loadRunConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(config.FileName); errors.Is(err, fs.ErrNotExist) {
			cfg := config.Defaults()
			return &cfg, nil
		}
		path = config.FileName
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("ebb run: %w", err)
	}
	return cfg, nil
}

// seconds is a duration flag that also accepts a plain number of seconds,
// as cerebrium.toml gives them.
type seconds time.Duration

func (s *seconds) String() string {
	if *s == 0 {
		return "0"
	}
	return time.Duration(*s).String()
}

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s = seconds(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration like 30s or 500ms", v)
	}
	*s = seconds(d)
	return nil
}

func (s *seconds) Type() string { return "seconds" }
