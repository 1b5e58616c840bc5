// Package config loads, defaults and validates cerebrium.toml files.
//
// A cerebrium.toml that Cerebrium accepts loads here unchanged; unlike
// Cerebrium, ebb rejects unknown keys (with a "did you mean" suggestion),
// because a misspelled key that is silently ignored is a trap.
//
// The types in this file are the effective configuration: every default is
// filled in by Load, so a zero value never means "unset" once loaded.
//
// Load and Parse report every problem of a file at once, as an [Errors]
// whose elements render as "FILE:LINE:COL: FIELD: MESSAGE". docs/configuration.md
// lists every key with its type, default and accepted values.
package config

import "time"

// FileName is the name ebb looks for when given a directory.
const FileName = "cerebrium.toml"

// Config is one app's effective configuration.
type Config struct {
	// Path is the absolute path of the file the configuration was loaded
	// from ("" when built in code).
	Path string `json:"-"`
	// Dir is the directory the app runs in: the directory holding Path
	// (absolute).
	Dir string `json:"-"`

	Deployment   Deployment   `json:"deployment"`
	Hardware     Hardware     `json:"hardware"`
	Scaling      Scaling      `json:"scaling"`
	Runtime      Runtime      `json:"runtime"`
	Dependencies Dependencies `json:"dependencies"`

	// Warnings are things that load but will likely not do what the user
	// wants (for example a shell-form Dockerfile CMD). Each names its file.
	Warnings []string `json:"warnings,omitempty"`
}

// Deployment is [cerebrium.deployment].
type Deployment struct {
	Name                            string   `json:"name"`
	PythonVersion                   string   `json:"python_version,omitempty"`
	DockerBaseImageURL              string   `json:"docker_base_image_url,omitempty"`
	Include                         []string `json:"include"`
	Exclude                         []string `json:"exclude"`
	ShellCommands                   []string `json:"shell_commands,omitempty"`
	PreBuildCommands                []string `json:"pre_build_commands,omitempty"`
	DisableAuth                     bool     `json:"disable_auth"`
	UseUV                           bool     `json:"use_uv"`
	DeploymentInitializationTimeout int      `json:"deployment_initialization_timeout"` // seconds
}

// InitTimeout is DeploymentInitializationTimeout as a duration: how long a
// replica may take to become ready.
func (d Deployment) InitTimeout() time.Duration {
	return time.Duration(d.DeploymentInitializationTimeout) * time.Second
}

// Hardware is [cerebrium.hardware].
type Hardware struct {
	CPU      float64  `json:"cpu"`
	Memory   float64  `json:"memory"`  // GB
	Compute  []string `json:"compute"` // always a list once loaded
	GPUCount int      `json:"gpu_count"`
	Provider string   `json:"provider,omitempty"`
	Region   string   `json:"region,omitempty"`
}

// IsGPU reports whether compute names an accelerator (anything but "CPU"):
// then gpu_count defaults to 1 and replica_concurrency to 1.
func (h Hardware) IsGPU() bool {
	for _, c := range h.Compute {
		if c != "CPU" {
			return true
		}
	}
	return false
}

// Scaling metrics.
const (
	MetricConcurrency = "concurrency_utilization"
	MetricRPS         = "requests_per_second"
	MetricCPU         = "cpu_utilization"
	MetricMemory      = "memory_utilization"
)

// Load-balancing algorithms. LBAuto picks first-available when
// replica_concurrency <= 3, else round-robin.
const (
	LBAuto           = ""
	LBFirstAvailable = "first-available"
	LBRoundRobin     = "round-robin"
	LBMinConnections = "min-connections"
	LBRandomChoice2  = "random-choice-2"
)

// Scaling is [cerebrium.scaling].
type Scaling struct {
	MinReplicas               int    `json:"min_replicas"`
	MaxReplicas               int    `json:"max_replicas"`
	Cooldown                  int    `json:"cooldown"` // seconds
	ReplicaConcurrency        int    `json:"replica_concurrency"`
	ResponseGracePeriod       int    `json:"response_grace_period"` // seconds
	ScalingMetric             string `json:"scaling_metric"`
	ScalingTarget             int    `json:"scaling_target"`
	ScalingBuffer             int    `json:"scaling_buffer"`
	EvaluationIntervalSeconds int    `json:"evaluation_interval_seconds"`
	LoadBalancingAlgorithm    string `json:"load_balancing_algorithm"`
	RollOutDurationSeconds    int    `json:"roll_out_duration_seconds"`
	ComputeTier               string `json:"compute_tier,omitempty"`
}

// GracePeriod is ResponseGracePeriod as a duration.
func (s Scaling) GracePeriod() time.Duration {
	return time.Duration(s.ResponseGracePeriod) * time.Second
}

// CooldownPeriod is Cooldown as a duration.
func (s Scaling) CooldownPeriod() time.Duration { return time.Duration(s.Cooldown) * time.Second }

// EvaluationInterval is EvaluationIntervalSeconds as a duration.
func (s Scaling) EvaluationInterval() time.Duration {
	return time.Duration(s.EvaluationIntervalSeconds) * time.Second
}

// RollOutDuration is RollOutDurationSeconds as a duration.
func (s Scaling) RollOutDuration() time.Duration {
	return time.Duration(s.RollOutDurationSeconds) * time.Second
}

// EffectiveLoadBalancing resolves LBAuto to the algorithm it stands for.
func (s Scaling) EffectiveLoadBalancing() string {
	if s.LoadBalancingAlgorithm != LBAuto {
		return s.LoadBalancingAlgorithm
	}
	if s.ReplicaConcurrency <= 3 {
		return LBFirstAvailable
	}
	return LBRoundRobin
}

// Runtime is [cerebrium.runtime].
type Runtime struct {
	Custom CustomRuntime `json:"custom"`
}

// CustomRuntime is [cerebrium.runtime.custom].
type CustomRuntime struct {
	Port int `json:"port"`
	// Entrypoint is the command as argv. Empty when neither the file nor a
	// Dockerfile gives one.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// EntrypointSource says where Entrypoint came from, for messages:
	// "entrypoint", or "Dockerfile CMD (path)" and the like.
	EntrypointSource    string `json:"entrypoint_source,omitempty"`
	HealthcheckEndpoint string `json:"healthcheck_endpoint"`
	ReadycheckEndpoint  string `json:"readycheck_endpoint"` // "" = TCP check
	DockerfilePath      string `json:"dockerfile_path,omitempty"`
}

// Dependencies is [cerebrium.dependencies.*]: kept, never installed by ebb.
type Dependencies struct {
	Pip   map[string]string `json:"pip,omitempty"`
	Apt   map[string]string `json:"apt,omitempty"`
	Conda map[string]string `json:"conda,omitempty"`
	Paths map[string]string `json:"paths,omitempty"`
}
