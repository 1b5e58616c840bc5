//go:build !shim

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/export"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print manifests that run the app on Kubernetes or Knative",
		Long: `Print manifests that carry the app's cerebrium.toml onto a cluster you
already run. YAML goes to stdout, warnings about what maps only
approximately go to stderr; a config that cannot be expressed is refused
with the reason.

See docs/kubernetes.md for how each config key maps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newExportKubernetesCmd(), newExportKnativeCmd())
	return cmd
}

func newExportKubernetesCmd() *cobra.Command {
	var opts export.Options
	cmd := &cobra.Command{
		Use:   "kubernetes [DIR] --image IMAGE",
		Short: "Print a Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler",
		Long: `Print a Deployment, a Service, a PodDisruptionBudget and (for the
cpu_utilization and memory_utilization metrics) a HorizontalPodAutoscaler
for the app in DIR (default: the current directory).

Every pod runs the app under 'ebb run', so the image must hold the ebb
binary on its PATH. On SIGTERM, 'ebb run' keeps serving for the lame-duck
period while Kubernetes removes the pod from the Service's endpoints, then
drains for response_grace_period; terminationGracePeriodSeconds covers both.`,
		Example: `  ebb export kubernetes --image registry.example/my-app:1 | kubectl apply -f -
  ebb export kubernetes ./my-app --image registry.example/my-app:1 --namespace apps --lame-duck 10s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd, args, "kubernetes", export.Kubernetes, opts)
		},
	}
	addExportFlags(cmd, &opts)
	cmd.Flags().DurationVar(&opts.LameDuck, "lame-duck", export.DefaultLameDuck,
		"how long 'ebb run' keeps serving after SIGTERM, while the pod leaves the Service's endpoints (0 means the default)")
	return cmd
}

func newExportKnativeCmd() *cobra.Command {
	var opts export.Options
	cmd := &cobra.Command{
		Use:   "knative [DIR] --image IMAGE",
		Short: "Print a Knative Service (serving.knative.dev/v1)",
		Long: `Print a Knative Service for the app in DIR (default: the current directory).

Knative's queue-proxy limits concurrency and drains each pod before its
container gets SIGTERM, so the container runs the app's own command (or
the image's CMD when the config names none); 'ebb run' is not needed.
concurrency_utilization and requests_per_second scale with Knative's own
autoscaler, down to zero; cpu_utilization and memory_utilization use
Knative's HPA class, which needs the serving-hpa extension.`,
		Example: `  ebb export knative --image registry.example/my-app:1 | kubectl apply -f -
  ebb export knative ./my-app --image registry.example/my-app:1 --namespace apps`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd, args, "knative", export.Knative, opts)
		},
	}
	addExportFlags(cmd, &opts)
	return cmd
}

func addExportFlags(cmd *cobra.Command, opts *export.Options) {
	cmd.Flags().StringVar(&opts.Image, "image", "", "container image of the app (required)")
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "", "namespace to write into the manifests (default: none, so kubectl decides)")
}

// exporter is export.Kubernetes or export.Knative.
type exporter func(*config.Config, export.Options) ([]export.Object, []string, error)

func runExport(cmd *cobra.Command, args []string, target string, exp exporter, opts export.Options) error {
	if opts.Image == "" {
		return &ExitError{Code: 2, Message: "ebb export " + target + ": --image is required: the container image of the app, e.g. --image registry.example/my-app:1"}
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return &ExitError{Code: 1, Message: fmt.Sprintf("ebb export %s: %v", target, err)}
	}
	objs, warnings, err := exp(cfg, opts)
	if err != nil {
		return &ExitError{Code: 1, Message: "ebb " + err.Error()}
	}
	out, err := export.YAML(objs)
	if err != nil {
		return fmt.Errorf("ebb export %s: %w", target, err)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	for _, w := range warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	if _, err := cmd.OutOrStdout().Write(out); err != nil {
		return fmt.Errorf("ebb export %s: write: %w", target, err)
	}
	return nil
}
