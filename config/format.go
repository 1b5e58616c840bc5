package config

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WriteTOML writes c as a cerebrium.toml with every default spelled out, so
// a reader sees what ebb will do. Comments note derived values (the
// load-balancing algorithm "auto" picks, where the entrypoint came from).
// Loading the output gives back c, apart from Path, Dir, Warnings and
// EntrypointSource.
func (c *Config) WriteTOML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := &tomlPrinter{w: bw}

	p.section("cerebrium.deployment")
	p.kv("name", tomlString(c.Deployment.Name), "")
	p.optString("python_version", c.Deployment.PythonVersion)
	p.optString("docker_base_image_url", c.Deployment.DockerBaseImageURL)
	p.kv("include", tomlList(c.Deployment.Include), "")
	p.kv("exclude", tomlList(c.Deployment.Exclude), "")
	if len(c.Deployment.ShellCommands) > 0 {
		p.kv("shell_commands", tomlList(c.Deployment.ShellCommands), "")
	}
	if len(c.Deployment.PreBuildCommands) > 0 {
		p.kv("pre_build_commands", tomlList(c.Deployment.PreBuildCommands), "")
	}
	p.kv("disable_auth", strconv.FormatBool(c.Deployment.DisableAuth), "")
	p.kv("use_uv", strconv.FormatBool(c.Deployment.UseUV), "")
	p.kv("deployment_initialization_timeout", strconv.Itoa(c.Deployment.DeploymentInitializationTimeout), "seconds")

	p.section("cerebrium.hardware")
	p.kv("cpu", tomlFloat(c.Hardware.CPU), "")
	p.kv("memory", tomlFloat(c.Hardware.Memory), "GB")
	p.kv("compute", tomlList(c.Hardware.Compute), "")
	p.kv("gpu_count", strconv.Itoa(c.Hardware.GPUCount), "")
	p.optString("provider", c.Hardware.Provider)
	p.optString("region", c.Hardware.Region)

	s := c.Scaling
	p.section("cerebrium.scaling")
	p.kv("min_replicas", strconv.Itoa(s.MinReplicas), "")
	p.kv("max_replicas", strconv.Itoa(s.MaxReplicas), "")
	p.kv("cooldown", strconv.Itoa(s.Cooldown), "seconds")
	p.kv("replica_concurrency", strconv.Itoa(s.ReplicaConcurrency), "")
	p.kv("response_grace_period", strconv.Itoa(s.ResponseGracePeriod), "seconds")
	p.kv("scaling_metric", tomlString(s.ScalingMetric), "")
	p.kv("scaling_target", strconv.Itoa(s.ScalingTarget), "")
	p.kv("scaling_buffer", strconv.Itoa(s.ScalingBuffer), "")
	p.kv("evaluation_interval_seconds", strconv.Itoa(s.EvaluationIntervalSeconds), "")
	lbNote := ""
	if s.LoadBalancingAlgorithm == LBAuto {
		lbNote = "auto: " + s.EffectiveLoadBalancing()
	}
	p.kv("load_balancing_algorithm", tomlString(s.LoadBalancingAlgorithm), lbNote)
	p.kv("roll_out_duration_seconds", strconv.Itoa(s.RollOutDurationSeconds), "")
	p.optString("compute_tier", s.ComputeTier)

	rc := c.Runtime.Custom
	p.section("cerebrium.runtime.custom")
	p.kv("port", strconv.Itoa(rc.Port), "")
	if len(rc.Entrypoint) > 0 {
		note := ""
		if rc.EntrypointSource != "" && rc.EntrypointSource != "entrypoint" {
			note = "from " + rc.EntrypointSource
		}
		p.kv("entrypoint", tomlList(rc.Entrypoint), note)
	}
	p.kv("healthcheck_endpoint", tomlString(rc.HealthcheckEndpoint), "")
	readyNote := ""
	if rc.ReadycheckEndpoint == "" {
		readyNote = "TCP check on the port"
	}
	p.kv("readycheck_endpoint", tomlString(rc.ReadycheckEndpoint), readyNote)
	p.optString("dockerfile_path", rc.DockerfilePath)

	for _, dep := range []struct {
		name string
		m    map[string]string
	}{
		{"pip", c.Dependencies.Pip}, {"apt", c.Dependencies.Apt},
		{"conda", c.Dependencies.Conda}, {"paths", c.Dependencies.Paths},
	} {
		if len(dep.m) == 0 {
			continue
		}
		p.section("cerebrium.dependencies." + dep.name)
		keys := make([]string, 0, len(dep.m))
		for k := range dep.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p.kv(quoteKey(k), tomlString(dep.m[k]), "")
		}
	}
	if p.err != nil {
		return fmt.Errorf("config.WriteTOML: %w", p.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("config.WriteTOML: %w", err)
	}
	return nil
}

type tomlPrinter struct {
	w       *bufio.Writer
	started bool
	err     error
}

func (p *tomlPrinter) section(name string) {
	if p.started {
		p.printf("\n")
	}
	p.started = true
	p.printf("[%s]\n", name)
}

func (p *tomlPrinter) kv(key, val, note string) {
	if note != "" {
		p.printf("%s = %s # %s\n", key, val, note)
		return
	}
	p.printf("%s = %s\n", key, val)
}

func (p *tomlPrinter) optString(key, val string) {
	if val != "" {
		p.kv(key, tomlString(val), "")
	}
}

func (p *tomlPrinter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func tomlList(list []string) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = tomlString(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// tomlFloat writes f so that it reads back as a float: 2 becomes 2.0.
func tomlFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
