package export

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ebb-run/ebb/config"
)

// Knative annotation keys (knative.dev/serving pkg/apis/autoscaling and
// pkg/apis/serving).
const (
	annClass             = "autoscaling.knative.dev/class"
	annMetric            = "autoscaling.knative.dev/metric"
	annTarget            = "autoscaling.knative.dev/target"
	annTargetUtilization = "autoscaling.knative.dev/target-utilization-percentage"
	annMinScale          = "autoscaling.knative.dev/min-scale"
	annMaxScale          = "autoscaling.knative.dev/max-scale"
	annScaleDownDelay    = "autoscaling.knative.dev/scale-down-delay"
	annWindow            = "autoscaling.knative.dev/window"
	annRolloutDuration   = "serving.knative.dev/rollout-duration"

	classKPA = "kpa.autoscaling.knative.dev"
	classHPA = "hpa.autoscaling.knative.dev"
)

// KnativeMaxTimeoutSeconds is Knative Serving's default
// max-revision-timeout-seconds (config-defaults): a longer timeoutSeconds is
// rejected unless the cluster raises it.
const KnativeMaxTimeoutSeconds = 600

// KnativeMaxContainerConcurrency is Knative Serving's default
// container-concurrency-max-limit (config-defaults).
const KnativeMaxContainerConcurrency = 1000

// Knative returns a Knative Service (serving.knative.dev/v1) for cfg.
// Knative's queue-proxy already does what
// `ebb run` does (concurrency limit, readiness, drain before SIGTERM), so the
// container runs the app's own command; when the config has none, the
// image's CMD runs.
//
// concurrency_utilization and requests_per_second use Knative's own
// autoscaler (KPA); cpu_utilization and memory_utilization use Knative's
// HPA class, which needs the serving-hpa extension installed (a warning says
// so). Warnings say what is exported only approximately. A config that
// cannot be expressed returns a *RefusedError; an empty image returns
// ErrNoImage.
func Knative(cfg *config.Config, opts Options) ([]Object, []string, error) {
	if opts.Image == "" {
		return nil, nil, fmt.Errorf("export knative: %w", ErrNoImage)
	}
	r := &refusals{target: "knative", path: cfg.Path}
	checkCommon(cfg, opts, r)
	s := cfg.Scaling
	if s.ScalingMetric == config.MetricCPU && cfg.Hardware.CPU <= 0 {
		r.addf("scaling_metric %q needs [cerebrium.hardware] cpu: Knative's HPA class measures utilization against the CPU request", s.ScalingMetric)
	}
	if s.ScalingMetric == config.MetricMemory && cfg.Hardware.Memory <= 0 {
		r.addf("scaling_metric %q needs [cerebrium.hardware] memory: Knative's HPA class takes its target in MiB, computed from the memory given", s.ScalingMetric)
	}
	if err := r.err(); err != nil {
		return nil, nil, err
	}
	warnings := scalingWarnings(cfg, "Knative")

	ann := map[string]string{
		annMaxScale: strconv.Itoa(s.MaxReplicas),
	}
	minScale := s.MinReplicas
	switch s.ScalingMetric {
	case config.MetricConcurrency:
		ann[annClass] = classKPA
		ann[annMetric] = "concurrency"
		ann[annTarget] = strconv.Itoa(s.ReplicaConcurrency)
		ann[annTargetUtilization] = strconv.Itoa(s.ScalingTarget)
	case config.MetricRPS:
		ann[annClass] = classKPA
		ann[annMetric] = "rps"
		ann[annTarget] = strconv.Itoa(s.ScalingTarget)
	case config.MetricCPU, config.MetricMemory:
		ann[annClass] = classHPA
		if s.ScalingMetric == config.MetricCPU {
			ann[annMetric] = "cpu"
			ann[annTarget] = strconv.Itoa(s.ScalingTarget)
		} else {
			// Knative's HPA class reads a memory target as MiB per pod.
			mib := int64(math.Round(cfg.Hardware.Memory * 1024 * float64(s.ScalingTarget) / 100))
			ann[annMetric] = "memory"
			ann[annTarget] = strconv.FormatInt(mib, 10)
		}
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] scaling_metric %q uses Knative's HPA class, which needs the Knative Serving HPA extension (serving-hpa.yaml) installed in the cluster", s.ScalingMetric))
		if minScale < 1 {
			warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] min_replicas %d: Knative's HPA class cannot scale to zero, so min-scale is 1; use concurrency_utilization or requests_per_second for scale to zero", s.MinReplicas))
			minScale = 1
		}
	}
	ann[annMinScale] = strconv.Itoa(minScale)
	switch {
	case s.Cooldown == 0:
	case ann[annClass] == classKPA:
		ann[annScaleDownDelay] = fmt.Sprintf("%ds", s.Cooldown)
	case s.Cooldown >= 6:
		// Knative's HPA class has no scale-down delay; its window becomes
		// the HPA's stabilization window, for scale-up as well as down.
		ann[annWindow] = fmt.Sprintf("%ds", s.Cooldown)
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] cooldown %d s becomes Knative's HPA-class window, which also delays scaling up by as long", s.Cooldown))
	default:
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] cooldown %d s is below the 6 s window Knative's HPA class accepts and is not exported", s.Cooldown))
	}
	if w := s.EvaluationIntervalSeconds; w > 0 && ann[annClass] == classKPA {
		if w >= 6 && w <= 3600 {
			ann[annWindow] = fmt.Sprintf("%ds", w)
		} else {
			warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] evaluation_interval_seconds %d is outside Knative's 6-3600 s autoscaling window and is not exported; the cluster default applies", w))
		}
	}

	rev := knativeRevisionSpec{
		ContainerConcurrency: ptr(int64(s.ReplicaConcurrency)),
		TimeoutSeconds:       ptr(int64(s.ResponseGracePeriod)),
		Containers:           []container{knativeContainer(cfg, opts)},
	}
	if s.ResponseGracePeriod == 0 {
		rev.TimeoutSeconds = nil
	}
	if s.ResponseGracePeriod > KnativeMaxTimeoutSeconds {
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] response_grace_period %d s exceeds Knative's default max-revision-timeout-seconds (%d): raise max-revision-timeout-seconds in the knative-serving config-defaults ConfigMap, or Knative rejects this Service", s.ResponseGracePeriod, KnativeMaxTimeoutSeconds))
	}
	if s.ReplicaConcurrency > KnativeMaxContainerConcurrency {
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] replica_concurrency %d exceeds Knative's default container-concurrency-max-limit (%d): raise it in the knative-serving config-defaults ConfigMap, or Knative rejects this Service", s.ReplicaConcurrency, KnativeMaxContainerConcurrency))
	}

	svc := &knativeService{
		typeMeta: typeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		Metadata: objectMeta{Name: cfg.Deployment.Name, Namespace: opts.Namespace, Labels: labels(cfg)},
		Spec: knativeServiceSpec{Template: knativeRevisionTemplate{
			Metadata: objectMeta{Labels: labels(cfg), Annotations: ann},
			Spec:     rev,
		}},
	}
	if s.RollOutDurationSeconds > 0 {
		svc.Metadata.Annotations = map[string]string{annRolloutDuration: fmt.Sprintf("%ds", s.RollOutDurationSeconds)}
	}
	return []Object{svc}, warnings, nil
}

// knativeContainer is the revision's only container: the app itself.
// Probes name the container's only port, the one Knative routes to.
func knativeContainer(cfg *config.Config, opts Options) container {
	rc := cfg.Runtime.Custom
	port := intValue(int32(rc.Port))
	c := container{
		Name:      "app",
		Image:     opts.Image,
		Command:   append([]string(nil), rc.Entrypoint...),
		Ports:     []containerPort{{ContainerPort: int32(rc.Port)}},
		Resources: resources(cfg.Hardware),
	}
	if rc.ReadycheckEndpoint != "" {
		c.ReadinessProbe = &probe{HTTPGet: httpGet(rc.ReadycheckEndpoint, port)}
	}
	if rc.HealthcheckEndpoint != "" {
		c.LivenessProbe = &probe{
			HTTPGet:          httpGet(rc.HealthcheckEndpoint, port),
			PeriodSeconds:    10,
			TimeoutSeconds:   5,
			FailureThreshold: 3,
		}
	}
	return c
}
