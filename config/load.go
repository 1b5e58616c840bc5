package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// Defaults returns the effective configuration of a file that sets nothing:
// Cerebrium's documented defaults, on CPU. Name is empty.
func Defaults() Config {
	return Config{
		Deployment: Deployment{
			Include:                         []string{"*"},
			Exclude:                         []string{".*"},
			DisableAuth:                     true,
			DeploymentInitializationTimeout: 600,
		},
		Hardware: Hardware{
			CPU:     2.0,
			Memory:  4.0,
			Compute: []string{"CPU"},
		},
		Scaling: Scaling{
			MinReplicas:               0,
			MaxReplicas:               1,
			Cooldown:                  10,
			ReplicaConcurrency:        100,
			ResponseGracePeriod:       900,
			ScalingMetric:             MetricConcurrency,
			ScalingTarget:             100,
			EvaluationIntervalSeconds: 30,
			LoadBalancingAlgorithm:    LBAuto,
		},
		Runtime: Runtime{Custom: CustomRuntime{Port: 8000}},
	}
}

// Load reads, checks and defaults a cerebrium.toml. path is the file or a
// directory holding one. When entrypoint is not set, the CMD/ENTRYPOINT of
// dockerfile_path (or of a Dockerfile beside the file) is used.
//
// A file that does not load gives an Errors listing every problem; a file
// that cannot be read gives a wrapped I/O error.
func Load(path string) (*Config, error) {
	file := path
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	} else if fi.IsDir() {
		file = filepath.Join(path, FileName)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && file != path {
			return nil, fmt.Errorf("config.Load: no %s in %s: %w", FileName, path, err)
		}
		return nil, fmt.Errorf("config.Load: %w", err)
	}
	return parse(file, data, os.ReadFile)
}

// Parse checks and defaults the cerebrium.toml held in data; filename names
// it in errors and sets Path and Dir. Parse does not read any file: a
// Dockerfile's command is only looked up by Load.
func Parse(filename string, data []byte) (*Config, error) {
	return parse(filename, data, nil)
}

func parse(filename string, data []byte, readFile func(string) ([]byte, error)) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc, ok := parseDocument(filename, data)
	if !ok {
		sortErrors(doc.errs)
		return nil, doc.errs
	}
	if len(doc.errs) == 0 {
		// The tree builder follows TOML's rules on redefinition; the
		// reference decoder has the last word on anything it missed.
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			e := &Error{File: filename, Message: "TOML: " + err.Error()}
			var derr *toml.DecodeError
			if errors.As(err, &derr) {
				e.Line, e.Col = derr.Position()
			}
			doc.errs = append(doc.errs, e)
		}
	}

	cfg := Defaults()
	cfg.Path = filename
	if abs, err := filepath.Abs(filename); err == nil {
		cfg.Path = abs
	}
	cfg.Dir = filepath.Dir(cfg.Path)
	d := &decoder{doc: doc, cfg: &cfg, present: map[string]*value{}, bad: map[string]bool{}}
	d.decodeRoot(doc.root)
	d.finish(readFile)

	if len(doc.errs) > 0 {
		sortErrors(doc.errs)
		return nil, doc.errs
	}
	return &cfg, nil
}

// finish fills the defaults that depend on other keys and runs the checks
// that involve several keys.
func (d *decoder) finish(readFile func(string) ([]byte, error)) {
	c := d.cfg
	const (
		dep   = "cerebrium.deployment"
		hw    = "cerebrium.hardware"
		sc    = "cerebrium.scaling"
		cu    = "cerebrium.runtime.custom"
		name  = dep + ".name"
		gpus  = hw + ".gpu_count"
		comp  = hw + ".compute"
		minR  = sc + ".min_replicas"
		maxR  = sc + ".max_replicas"
		conc  = sc + ".replica_concurrency"
		met   = sc + ".scaling_metric"
		buf   = sc + ".scaling_buffer"
		entry = cu + ".entrypoint"
		dfile = cu + ".dockerfile_path"
	)

	if d.present[name] == nil {
		at := -1
		if t := d.present[dep]; t != nil {
			at = t.keyAt
		}
		d.doc.errorAt(at, name, `required: the app's name, in lowercase letters, digits and dashes (for example name = "my-app" in [cerebrium.deployment])`)
	}

	if c.Hardware.IsGPU() {
		if d.present[gpus] == nil {
			c.Hardware.GPUCount = 1
		}
		if d.present[conc] == nil {
			c.Scaling.ReplicaConcurrency = 1
		}
	} else if v := d.present[gpus]; v != nil && !d.bad[gpus] && !d.bad[comp] && c.Hardware.GPUCount > 0 {
		d.errorf(v, gpus, "%d GPUs need a GPU compute type, but compute is %s; accepted with CPU: 0", c.Hardware.GPUCount, orDefault(formatArgv(c.Hardware.Compute), d.present[comp]))
	}

	if !d.bad[minR] && !d.bad[maxR] && c.Scaling.MinReplicas > c.Scaling.MaxReplicas {
		if v := d.present[minR]; v != nil {
			d.errorf(v, minR, "%d is greater than max_replicas (%s); min_replicas must not exceed max_replicas",
				c.Scaling.MinReplicas, orDefault(fmt.Sprint(c.Scaling.MaxReplicas), d.present[maxR]))
		} else if v := d.present[maxR]; v != nil {
			d.errorf(v, maxR, "%d is less than min_replicas (%d)", c.Scaling.MaxReplicas, c.Scaling.MinReplicas)
		}
	}

	metric := c.Scaling.ScalingMetric
	if v := d.present[met]; v != nil && !d.bad[met] && !d.bad[minR] &&
		(metric == MetricCPU || metric == MetricMemory) && c.Scaling.MinReplicas < 1 {
		d.errorf(v, met, "%q needs min_replicas of 1 or more (a replica must be running to measure), but min_replicas is %s",
			metric, orDefault(fmt.Sprint(c.Scaling.MinReplicas), d.present[minR]))
	}
	if v := d.present[buf]; v != nil && !d.bad[met] && metric != MetricConcurrency && metric != MetricRPS {
		d.keyErrorf(v, buf, "applies only with scaling_metric %q or %q, but scaling_metric is %q; remove scaling_buffer",
			MetricConcurrency, MetricRPS, metric)
	}

	if len(c.Runtime.Custom.Entrypoint) == 0 && !d.bad[entry] && !d.bad[dfile] && readFile != nil {
		d.dockerfileEntrypoint(readFile, d.present[dfile])
	}
}

// orDefault marks a value that the file did not set.
func orDefault(s string, set *value) string {
	if set == nil {
		return s + ", the default"
	}
	return s
}

// dockerfileEntrypoint takes the command from dockerfile_path (v, when set)
// or from a Dockerfile beside the config.
func (d *decoder) dockerfileEntrypoint(readFile func(string) ([]byte, error), v *value) {
	c := d.cfg
	rel := "Dockerfile"
	if v != nil {
		rel = c.Runtime.Custom.DockerfilePath
	}
	full := rel
	if !filepath.IsAbs(full) {
		full = filepath.Join(c.Dir, rel)
	}
	display := rel
	if !filepath.IsAbs(display) {
		display = filepath.Join(filepath.Dir(d.doc.file), rel)
	}
	data, err := readFile(full)
	if err != nil {
		if v != nil {
			d.errorf(v, "cerebrium.runtime.custom.dockerfile_path", "cannot read the Dockerfile: %v", err)
		}
		return
	}
	cmd := DockerfileCommand(display, data)
	c.Warnings = append(c.Warnings, cmd.Warnings...)
	if len(cmd.Argv) == 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s: the final stage sets no CMD or ENTRYPOINT (the base image's command is not known to ebb); set entrypoint in [cerebrium.runtime.custom]",
			display))
		return
	}
	c.Runtime.Custom.Entrypoint = cmd.Argv
	c.Runtime.Custom.EntrypointSource = cmd.Source
}
