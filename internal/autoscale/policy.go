// Package autoscale decides how many replicas an app should have.
//
// The decision is a pure function of time, observed metrics and
// configuration (Decide), so that it is tested on a simulated clock. The
// control loop that gathers samples and applies decisions lives with the
// platform; it stops replicas only through the termination sequence.
package autoscale

import (
	"time"

	"github.com/ebb-run/ebb/config"
)

// Policy is the part of an app's configuration that scaling reads.
type Policy struct {
	Metric      string  // one of the config.Metric* constants
	Target      float64 // scaling_target: percent for utilisation metrics, requests/s for RPS
	Concurrency int     // replica_concurrency
	Min, Max    int     // min_replicas, max_replicas
	// Buffer replicas are added on top of the recommendation
	// (concurrency and RPS metrics only).
	Buffer   int
	Window   time.Duration // evaluation_interval_seconds: metrics are averaged over it
	Cooldown time.Duration // demand must stay reduced this long before scaling down
	CPUCores float64       // hardware.cpu: the cores one replica may use
	MemoryGB float64       // hardware.memory: the memory one replica may use
}

// PolicyFrom builds the policy of a loaded configuration.
func PolicyFrom(c *config.Config) Policy {
	s := c.Scaling
	return Policy{
		Metric:      s.ScalingMetric,
		Target:      float64(s.ScalingTarget),
		Concurrency: s.ReplicaConcurrency,
		Min:         s.MinReplicas,
		Max:         s.MaxReplicas,
		Buffer:      s.ScalingBuffer,
		Window:      s.EvaluationInterval(),
		Cooldown:    s.CooldownPeriod(),
		CPUCores:    c.Hardware.CPU,
		MemoryGB:    c.Hardware.Memory,
	}
}

// perReplica is the amount of the metric one replica should carry.
func (p Policy) perReplica() float64 {
	switch p.Metric {
	case config.MetricRPS:
		return p.Target
	case config.MetricCPU:
		return p.CPUCores * p.Target / 100
	case config.MetricMemory:
		return p.MemoryGB * p.Target / 100
	default: // concurrency_utilization
		return float64(p.Concurrency) * p.Target / 100
	}
}

// Unit names the metric's unit, for status output.
func (p Policy) Unit() string {
	switch p.Metric {
	case config.MetricRPS:
		return "requests/s"
	case config.MetricCPU:
		return "cores"
	case config.MetricMemory:
		return "GB"
	default:
		return "requests in flight"
	}
}
