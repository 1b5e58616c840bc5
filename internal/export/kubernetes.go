package export

import (
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

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
func Kubernetes(cfg *config.Config, opts Options) ([]runtime.Object, []string, error) {
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

	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: cfg.Deployment.Name, Namespace: opts.Namespace, Labels: labels(cfg)}
	}

	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(),
		Spec: corev1.ServiceSpec{
			Selector: selector(cfg),
			Ports: []corev1.ServicePort{{
				Name:       portName,
				Port:       ServicePort,
				TargetPort: intstr.FromString(portName),
				Protocol:   corev1.ProtocolTCP,
			}},
		},
	}

	deploy := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector(cfg)},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromInt32(0)),
					MaxSurge:       ptr(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(cfg)},
				Spec:       podSpec(cfg, opts),
			},
		},
	}
	// A replica may take deployment_initialization_timeout to become ready;
	// give the rollout at least that before it is reported as stuck.
	if init := int32(cfg.Deployment.DeploymentInitializationTimeout) + 60; init > 600 {
		deploy.Spec.ProgressDeadlineSeconds = ptr(init)
	}

	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta(),
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:                   &metav1.LabelSelector{MatchLabels: selector(cfg)},
			MaxUnavailable:             ptr(intstr.FromInt32(1)),
			UnhealthyPodEvictionPolicy: ptr(policyv1.AlwaysAllow),
		},
	}

	objs := []runtime.Object{svc, deploy, pdb}
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

// podSpec is the Deployment's pod: one container running the app under
// `ebb run`, with probes against the shim and a termination grace period
// that outlasts the shim's own drain. Every setting `ebb run` takes from
// cerebrium.toml is passed as a flag, so the pod does not depend on a
// cerebrium.toml inside the image.
func podSpec(cfg *config.Config, opts Options) corev1.PodSpec {
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
	c := corev1.Container{
		Name:      "app",
		Image:     opts.Image,
		Command:   command,
		Args:      append([]string(nil), rc.Entrypoint...),
		Ports:     []corev1.ContainerPort{{Name: portName, ContainerPort: int32(rc.Port), Protocol: corev1.ProtocolTCP}},
		Resources: resources(cfg.Hardware),
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     probeHandler(rc.ReadycheckEndpoint),
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			FailureThreshold: 2,
			SuccessThreshold: 1,
		},
	}
	if rc.HealthcheckEndpoint != "" {
		// The liveness probe starts only once the startup probe has seen
		// the app ready, so a slow start is never killed for it.
		c.StartupProbe = &corev1.Probe{
			ProbeHandler:     probeHandler(rc.ReadycheckEndpoint),
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			FailureThreshold: startupFailures(cfg.Deployment.InitTimeout(), 2*time.Second),
			SuccessThreshold: 1,
		}
		c.LivenessProbe = &corev1.Probe{
			ProbeHandler:     probeHandler(rc.HealthcheckEndpoint),
			PeriodSeconds:    10,
			TimeoutSeconds:   5,
			FailureThreshold: 3,
			SuccessThreshold: 1,
		}
	}
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr(term),
		Containers:                    []corev1.Container{c},
	}
}

// probeHandler is an HTTP GET of path on the shim's port, or a TCP connect
// when path is empty.
func probeHandler(path string) corev1.ProbeHandler {
	if path == "" {
		return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(portName)}}
	}
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(portName)}}
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
func hpa(cfg *config.Config, _ Options, meta metav1.ObjectMeta, minReplicas int32) *autoscalingv2.HorizontalPodAutoscaler {
	s := cfg.Scaling
	res := corev1.ResourceCPU
	if s.ScalingMetric == config.MetricMemory {
		res = corev1.ResourceMemory
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: cfg.Deployment.Name},
			MinReplicas:    ptr(minReplicas),
			MaxReplicas:    int32(s.MaxReplicas),
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: res,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr(int32(s.ScalingTarget)),
					},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(s.Cooldown))},
			},
		},
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
