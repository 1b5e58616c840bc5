package export

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ebb-run/ebb/config"
)

// ServicePort is the port the exported Service listens on; it forwards to
// the container's port named "http" (the configured port, where `ebb run`
// listens).
const ServicePort = 80

// portName names the container port; probes and the Service refer to it.
const portName = "http"

// Kubernetes returns a Service, a Deployment, a PodDisruptionBudget and,
// for the cpu_utilization and memory_utilization metrics, a
// HorizontalPodAutoscaler, in that order, for cfg. Every pod runs the app
// under `ebb run`, so it drains the way `ebb up`'s replicas do.
//
// Warnings say what is exported only approximately. A config that cannot
// be expressed returns a *RefusedError; an empty image returns ErrNoImage.
func Kubernetes(cfg *config.Config, opts Options) ([]Object, []string, error) {
	if opts.Image == "" {
		return nil, nil, fmt.Errorf("export kubernetes: %w", ErrNoImage)
	}
	if opts.LameDuck == 0 {
		opts.LameDuck = DefaultLameDuck
	}
	r := &refusals{target: "kubernetes", path: cfg.Path}
	checkCommon(cfg, opts, r)
	if len(cfg.Runtime.Custom.Entrypoint) == 0 {
		r.addf("the app has no command: set [cerebrium.runtime.custom] entrypoint (or a Dockerfile CMD in exec form), because the container runs `ebb run -- COMMAND`")
	}
	s := cfg.Scaling
	if s.ScalingMetric == config.MetricCPU && cfg.Hardware.CPU <= 0 {
		r.addf("scaling_metric %q needs [cerebrium.hardware] cpu: a HorizontalPodAutoscaler measures utilization against the CPU request", s.ScalingMetric)
	}
	if s.ScalingMetric == config.MetricMemory && cfg.Hardware.Memory <= 0 {
		r.addf("scaling_metric %q needs [cerebrium.hardware] memory: a HorizontalPodAutoscaler measures utilization against the memory request", s.ScalingMetric)
	}
	if err := r.err(); err != nil {
		return nil, nil, err
	}

	warnings := scalingWarnings(cfg, "Kubernetes")
	if s.RollOutDurationSeconds > 0 {
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] roll_out_duration_seconds %d has no Deployment equivalent; pods are replaced one at a time, each once ready", s.RollOutDurationSeconds))
	}

	meta := func() objectMeta {
		return objectMeta{Name: cfg.Deployment.Name, Namespace: opts.Namespace, Labels: labels(cfg)}
	}

	svc := &service{
		typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
		Metadata: meta(),
		Spec: serviceSpec{
			Selector: selector(cfg),
			Ports: []servicePort{{
				Name:       portName,
				Port:       ServicePort,
				TargetPort: nameValue(portName),
				Protocol:   "TCP",
			}},
		},
	}

	deploy := &deployment{
		typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: meta(),
		Spec: deploymentSpec{
			Selector: &labelSelector{MatchLabels: selector(cfg)},
			Strategy: deploymentStrategy{
				Type: "RollingUpdate",
				RollingUpdate: &rollingUpdateDeployment{
					MaxUnavailable: ptr(intValue(0)),
					MaxSurge:       ptr(intValue(1)),
				},
			},
			Template: podTemplateSpec{
				Metadata: objectMeta{Labels: labels(cfg)},
				Spec:     kubernetesPodSpec(cfg, opts),
			},
		},
	}
	// A replica may take deployment_initialization_timeout to become ready;
	// give the rollout at least that before it is reported as stuck.
	if init := int32(cfg.Deployment.DeploymentInitializationTimeout) + 60; init > 600 {
		deploy.Spec.ProgressDeadlineSeconds = ptr(init)
	}

	pdb := &podDisruptionBudget{
		typeMeta: typeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		Metadata: meta(),
		Spec: pdbSpec{
			Selector:                   &labelSelector{MatchLabels: selector(cfg)},
			MaxUnavailable:             ptr(intValue(1)),
			UnhealthyPodEvictionPolicy: "AlwaysAllow",
		},
	}

	objs := []Object{svc, deploy, pdb}
	minReplicas := int32(s.MinReplicas)
	if minReplicas < 1 {
		minReplicas = 1
	}
	switch s.ScalingMetric {
	case config.MetricCPU, config.MetricMemory:
		if s.MinReplicas < 1 {
			warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] min_replicas %d: a HorizontalPodAutoscaler cannot scale to zero, so at least 1 replica always runs; use `ebb export knative` for scale to zero", s.MinReplicas))
		}
		objs = append(objs, hpa(cfg, opts, meta(), minReplicas))
	default:
		deploy.Spec.Replicas = ptr(minReplicas)
		warnings = append(warnings, fmt.Sprintf("[cerebrium.scaling] scaling_metric %q is not available to a HorizontalPodAutoscaler without a custom metrics adapter, so no autoscaler is exported and the Deployment runs a fixed %d replica(s); Knative scales on concurrency and requests per second: use `ebb export knative`", s.ScalingMetric, minReplicas))
	}
	return objs, warnings, nil
}

// kubernetesPodSpec is the Deployment's pod: one container running the app
// under `ebb run`, with probes against the shim and a termination grace period
// that outlasts the shim's own drain. Every setting `ebb run` takes from
// cerebrium.toml is passed as a flag, so the pod does not depend on a
// cerebrium.toml inside the image.
func kubernetesPodSpec(cfg *config.Config, opts Options) podSpec {
	s := cfg.Scaling
	rc := cfg.Runtime.Custom
	grace := s.GracePeriod()
	term := ceilSeconds(grace + opts.LameDuck + TerminationMargin)

	command := []string{
		"ebb", "run",
		"--port=" + strconv.Itoa(rc.Port),
		"--concurrency=" + strconv.Itoa(s.ReplicaConcurrency),
		fmt.Sprintf("--grace=%ds", s.ResponseGracePeriod),
		"--lame-duck=" + opts.LameDuck.String(),
		"--ready-path=" + rc.ReadycheckEndpoint,
		"--health-path=" + rc.HealthcheckEndpoint,
		fmt.Sprintf("--init-timeout=%ds", cfg.Deployment.DeploymentInitializationTimeout),
		"--",
	}
	c := container{
		Name:      "app",
		Image:     opts.Image,
		Command:   command,
		Args:      append([]string(nil), rc.Entrypoint...),
		Ports:     []containerPort{{Name: portName, ContainerPort: int32(rc.Port), Protocol: "TCP"}},
		Resources: resources(cfg.Hardware),
		ReadinessProbe: &probe{
			HTTPGet:          httpGet(rc.ReadycheckEndpoint, nameValue(portName)),
			TCPSocket:        tcpSocket(rc.ReadycheckEndpoint, nameValue(portName)),
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			FailureThreshold: 2,
			SuccessThreshold: 1,
		},
	}
	if rc.HealthcheckEndpoint != "" {
		// The liveness probe starts only once the startup probe has seen
		// the app ready, so a slow start is never killed for it.
		c.StartupProbe = &probe{
			HTTPGet:          httpGet(rc.ReadycheckEndpoint, nameValue(portName)),
			TCPSocket:        tcpSocket(rc.ReadycheckEndpoint, nameValue(portName)),
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			FailureThreshold: startupFailures(cfg.Deployment.InitTimeout(), 2*time.Second),
			SuccessThreshold: 1,
		}
		c.LivenessProbe = &probe{
			HTTPGet:          httpGet(rc.HealthcheckEndpoint, nameValue(portName)),
			TCPSocket:        tcpSocket(rc.HealthcheckEndpoint, nameValue(portName)),
			PeriodSeconds:    10,
			TimeoutSeconds:   5,
			FailureThreshold: 3,
			SuccessThreshold: 1,
		}
	}
	return podSpec{
		TerminationGracePeriodSeconds: ptr(term),
		Containers:                    []container{c},
	}
}

// A probe is an HTTP GET of path on port (httpGet), or a TCP connect to it
// when path is empty (tcpSocket); each returns nil for the other case.
func httpGet(path string, port intOrString) *httpGetAction {
	if path == "" {
		return nil
	}
	return &httpGetAction{Path: path, Port: port}
}

func tcpSocket(path string, port intOrString) *tcpSocketAction {
	if path != "" {
		return nil
	}
	return &tcpSocketAction{Port: port}
}

// startupFailures is how many failed probes, period apart, cover init.
func startupFailures(init, period time.Duration) int32 {
	n := int32((init + period - 1) / period)
	if n < 1 {
		n = 1
	}
	return n + 1
}

// hpa scales the Deployment on CPU or memory utilization.
func hpa(cfg *config.Config, _ Options, meta objectMeta, minReplicas int32) *horizontalPodAutoscaler {
	s := cfg.Scaling
	res := "cpu"
	if s.ScalingMetric == config.MetricMemory {
		res = "memory"
	}
	return &horizontalPodAutoscaler{
		typeMeta: typeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		Metadata: meta,
		Spec: hpaSpec{
			ScaleTargetRef: crossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: cfg.Deployment.Name},
			MinReplicas:    ptr(minReplicas),
			MaxReplicas:    int32(s.MaxReplicas),
			Metrics: []metricSpec{{
				Type: "Resource",
				Resource: &resourceMetricSource{
					Name: res,
					Target: metricTarget{
						Type:               "Utilization",
						AverageUtilization: ptr(int32(s.ScalingTarget)),
					},
				},
			}},
			Behavior: &hpaBehavior{
				ScaleDown: &hpaScalingRules{StabilizationWindowSeconds: ptr(int32(s.Cooldown))},
			},
		},
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
