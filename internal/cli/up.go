//go:build !shim

package cli

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/platform"
)

func newUpCmd() *cobra.Command {
	var (
		listen, admin string
		quiet         bool
		autoscale     bool
	)
	cmd := &cobra.Command{
		Use:   "up [DIR ...]",
		Short: "Run apps on this machine: replicas, router, rollouts, migrations",
		Long: `ebb up runs one or more apps (each DIR holds a cerebrium.toml; default ".")
as local replicas and serves them until interrupted.

Every app is served at /{app}/... and, for Cerebrium clients, at
/v4/{project}/{app}/... on the router (--listen, default ` + platform.DefaultListen + `).
Apps with disable_auth = false need "Authorization: Bearer <key>": the key
is $` + platform.APIKeyEnv + `, or generated and printed at start.

Each app is autoscaled by its [cerebrium.scaling] section, between
min_replicas and max_replicas and down to zero when min_replicas is 0
(--autoscale=false keeps min_replicas; change it with ebb scale).

The admin API (--admin, default ` + platform.DefaultAdmin + `) serves ebb status, scale,
deploy, migrate and logs, and Prometheus metrics at /metrics.

Ctrl+C drains every replica (stop routing, SIGTERM, wait
response_grace_period, SIGKILL), then exits with no process left behind.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			out := cmd.OutOrStdout()
			var cfgs []*config.Config
			for _, dir := range args {
				cfg, err := config.Load(dir)
				if err != nil {
					return &ExitError{Code: 2, Message: fmt.Sprintf("ebb up: %v", err)}
				}
				for _, w := range cfg.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
				cfgs = append(cfgs, cfg)
			}
			opts := platform.Options{
				Listen: listen, Admin: admin, Out: out, ReplicaOutput: !quiet, LoadConfig: config.Load,
			}
			if autoscale {
				opts.Autoscaler = platform.Autoscale
			}
			p, err := platform.New(cfgs, opts)
			if err != nil {
				return &ExitError{Code: 2, Message: fmt.Sprintf("ebb up: %v", err)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// Further signals during the drain are answered, not obeyed:
			// dying now would leave replicas running.
			go func() {
				<-ctx.Done()
				// Registered only now: a channel registered earlier would
				// also get the signal that ended ctx. Until then the
				// NotifyContext above keeps catching them.
				again := make(chan os.Signal, 1)
				signal.Notify(again, os.Interrupt, syscall.SIGTERM)
				defer signal.Stop(again)
				for {
					select {
					case <-again:
						fmt.Fprintln(out, "ebb up: still draining replicas (each gets its response_grace_period); please wait")
					case <-p.Stopped():
						return
					}
				}
			}()
			var names []string
			for _, c := range cfgs {
				names = append(names, fmt.Sprintf("%s (%d replica(s))", c.Deployment.Name, c.Scaling.MinReplicas))
			}
			fmt.Fprintf(out, "ebb up: starting %s\n", strings.Join(names, ", "))
			go func() {
				select {
				case <-p.Ready():
				case <-ctx.Done():
					return
				}
				a := cfgs[0]
				auth := ""
				if !a.Deployment.DisableAuth {
					auth = ` -H "Authorization: Bearer ` + p.APIKey() + `"`
				}
				fmt.Fprintf(out, "try: curl%s %s/%s/<path>\n", auth, p.RouterURL(), a.Deployment.Name)
				fmt.Fprintln(out, "Ctrl+C drains every replica and exits.")
			}()
			if err := p.Run(ctx); err != nil {
				return fmt.Errorf("ebb up: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", platform.DefaultListen, "router address (host:port)")
	cmd.Flags().StringVar(&admin, "admin", platform.DefaultAdmin, "admin API address (host:port); keep it on loopback")
	cmd.Flags().BoolVar(&autoscale, "autoscale", true, "scale each app by its [cerebrium.scaling] section")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not echo replica output (it stays available through ebb logs)")
	return cmd
}
