// Package export turns an app's effective cerebrium.toml into manifests for
// a cluster the user already runs: plain Kubernetes (Deployment, Service,
// PodDisruptionBudget, HorizontalPodAutoscaler) or a Knative Service.
//
// Manifests are built from typed structs and rendered with
// sigs.k8s.io/yaml, never from text templates. The structs are local (see
// manifest.go), with the JSON of the k8s.io/api and Knative types, so that
// the ebb binary links neither Kubernetes' API packages nor
// knative.dev/serving's Go module. The tests decode every Kubernetes object
// and every Knative container into the k8s.io/api types, and create every
// export on a real API server (with Knative's CRDs) in a dry run.
//
// A config that cannot be expressed on the target is refused with a
// *RefusedError listing every reason; what can be expressed only
// approximately is exported with warnings.
package export

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ebb-run/ebb/config"
)

// DefaultLameDuck is how long `ebb run` keeps serving new requests after
// SIGTERM on Kubernetes: the time the cluster takes to take a terminating
// pod out of its Service's endpoints everywhere.
const DefaultLameDuck = 5 * time.Second

// TerminationMargin is added to response_grace_period and the lame-duck
// period to make the pod's terminationGracePeriodSeconds, so that the
// kubelet's SIGKILL never lands before `ebb run` has finished draining.
const TerminationMargin = 5 * time.Second

// Options are the settings of an export that do not come from the config.
type Options struct {
	// Image is the container image holding the app and, for Kubernetes, the
	// ebb binary on its PATH. Required.
	Image string
	// Namespace is written into every object's metadata; "" leaves it out,
	// so that `kubectl apply -n NS` decides.
	Namespace string
	// LameDuck is passed to `ebb run --lame-duck` (Kubernetes only). Zero
	// means DefaultLameDuck; negative is refused.
	LameDuck time.Duration
}

// RefusedError says why a config cannot be expressed on a target.
type RefusedError struct {
	// Target is "kubernetes" or "knative".
	Target string
	// Path is the config file, "" when the config was built in code.
	Path string
	// Reasons are complete sentences, one per problem.
	Reasons []string
}

func (e *RefusedError) Error() string {
	where := e.Path
	if where == "" {
		where = config.FileName
	}
	return fmt.Sprintf("export %s: %s cannot be expressed: %s", e.Target, where, strings.Join(e.Reasons, "; "))
}

// ErrNoImage is returned when Options.Image is empty.
var ErrNoImage = errors.New("an image is required: pass --image REGISTRY/NAME:TAG (the image must hold the app and the ebb binary)")

// refusals collects the reasons a config is refused.
type refusals struct {
	target  string
	path    string
	reasons []string
}

func (r *refusals) addf(format string, args ...any) {
	r.reasons = append(r.reasons, fmt.Sprintf(format, args...))
}

func (r *refusals) err() error {
	if len(r.reasons) == 0 {
		return nil
	}
	return &RefusedError{Target: r.target, Path: r.path, Reasons: r.reasons}
}

// checkCommon refuses what neither target can express.
func checkCommon(cfg *config.Config, opts Options, r *refusals) {
	name := cfg.Deployment.Name
	if !isDNSLabel(name) {
		r.addf("[cerebrium.deployment] name %q is not a valid Kubernetes Service name (an RFC 1035 label); use lower-case letters, digits and '-', at most 63 characters, starting with a letter and ending with a letter or digit", name)
	}
	if p := cfg.Runtime.Custom.Port; p < 1 || p > 65535 {
		r.addf("[cerebrium.runtime.custom] port %d is not a TCP port; use 1-65535", p)
	}
	s := cfg.Scaling
	if s.MaxReplicas < 1 {
		r.addf("[cerebrium.scaling] max_replicas %d leaves no replica to run; use 1 or more", s.MaxReplicas)
	}
	if s.MinReplicas < 0 || s.MinReplicas > s.MaxReplicas {
		r.addf("[cerebrium.scaling] min_replicas %d must be between 0 and max_replicas (%d)", s.MinReplicas, s.MaxReplicas)
	}
	if s.Cooldown < 0 || s.Cooldown > 3600 {
		r.addf("[cerebrium.scaling] cooldown %d s is outside 0-3600 s, the longest scale-down window Kubernetes and Knative accept", s.Cooldown)
	}
	if s.ResponseGracePeriod < 0 {
		r.addf("[cerebrium.scaling] response_grace_period %d must not be negative", s.ResponseGracePeriod)
	}
	if s.ReplicaConcurrency < 1 {
		r.addf("[cerebrium.scaling] replica_concurrency %d must be 1 or more", s.ReplicaConcurrency)
	}
	switch s.ScalingMetric {
	case config.MetricConcurrency, config.MetricRPS, config.MetricCPU, config.MetricMemory:
	default:
		r.addf("[cerebrium.scaling] scaling_metric %q is not one of %s, %s, %s, %s", s.ScalingMetric,
			config.MetricConcurrency, config.MetricRPS, config.MetricCPU, config.MetricMemory)
	}
	if s.ScalingTarget < 1 {
		r.addf("[cerebrium.scaling] scaling_target %d must be 1 or more", s.ScalingTarget)
	}
	if cfg.Hardware.CPU < 0 || cfg.Hardware.Memory < 0 || cfg.Hardware.GPUCount < 0 {
		r.addf("[cerebrium.hardware] cpu, memory and gpu_count must not be negative")
	}
	if opts.LameDuck < 0 {
		r.addf("--lame-duck %s must not be negative", opts.LameDuck)
	}
}

// isDNSLabel reports whether s is an RFC 1035 label, as Kubernetes requires
// of a Service's name (and so of every object ebb names after the app): 1
// to 63 lower-case letters, digits and '-', starting with a letter and
// ending with a letter or digit.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || !(s[0] >= 'a' && s[0] <= 'z') || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// labels are the recommended app.kubernetes.io labels of every object.
func labels(cfg *config.Config) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       cfg.Deployment.Name,
		"app.kubernetes.io/managed-by": "ebb",
	}
}

// selector is the immutable subset of labels that picks the app's pods.
func selector(cfg *config.Config) map[string]string {
	return map[string]string{"app.kubernetes.io/name": cfg.Deployment.Name}
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// scalingWarnings are the warnings both targets share.
func scalingWarnings(cfg *config.Config, target string) []string {
	var w []string
	s := cfg.Scaling
	if s.ScalingBuffer > 0 {
		w = append(w, fmt.Sprintf("[cerebrium.scaling] scaling_buffer %d has no %s equivalent and is ignored; raise min_replicas instead", s.ScalingBuffer, target))
	}
	if s.LoadBalancingAlgorithm != config.LBAuto {
		w = append(w, fmt.Sprintf("[cerebrium.scaling] load_balancing_algorithm %q is not expressible on %s and is ignored; the cluster's own load balancing applies", s.LoadBalancingAlgorithm, target))
	}
	if len(cfg.Hardware.Compute) > 0 && !isCPUOnly(cfg.Hardware.Compute) {
		w = append(w, fmt.Sprintf("[cerebrium.hardware] compute %v is not mapped to a node selector; add one for your cluster's GPU node labels", cfg.Hardware.Compute))
	}
	return w
}

// isCPUOnly reports whether every compute entry is a CPU type.
func isCPUOnly(compute []string) bool {
	for _, c := range compute {
		if !strings.EqualFold(c, "CPU") {
			return false
		}
	}
	return true
}
