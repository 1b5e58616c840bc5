package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoadSeed(t *testing.T) {
	paths := []string{"testdata/seed", "testdata/seed/cerebrium.toml"}
	// The seed itself, when this checkout sits beside it.
	if _, err := os.Stat("../../shared/seed/example/cerebrium.toml"); err == nil {
		paths = append(paths, "../../shared/seed/example/cerebrium.toml")
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			c, err := Load(p)
			if err != nil {
				t.Fatalf("Load(%q): %v", p, err)
			}
			dir := p
			if strings.HasSuffix(p, ".toml") {
				dir = filepath.Dir(p)
			}
			want := Defaults()
			want.Path = filepath.Join(mustAbs(t, dir), FileName)
			want.Dir = mustAbs(t, dir)
			want.Deployment.Name = "your-app-name"
			want.Deployment.Include = []string{"./*"}
			want.Hardware.CPU = 1
			want.Hardware.Memory = 1
			want.Hardware.Provider = "aws"
			want.Hardware.Region = "us-east-1"
			want.Scaling.MaxReplicas = 2
			want.Scaling.Cooldown = 30
			want.Scaling.ReplicaConcurrency = 1
			want.Runtime.Custom.DockerfilePath = "./Dockerfile"
			want.Runtime.Custom.Entrypoint = []string{"uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"}
			want.Runtime.Custom.EntrypointSource = "Dockerfile CMD (" + filepath.Join(dir, "Dockerfile") + ":5)"
			if diff := cmp.Diff(&want, c); diff != "" {
				t.Errorf("Load(%q) mismatch (-want +got):\n%s", p, diff)
			}
		})
	}
}

func TestLoadEveryKey(t *testing.T) {
	c, err := Load("testdata/full")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Path: mustAbs(t, "testdata/full/cerebrium.toml"),
		Dir:  mustAbs(t, "testdata/full"),
		Deployment: Deployment{
			Name:                            "full-app-2",
			PythonVersion:                   "3.12",
			DockerBaseImageURL:              "debian:bookworm-slim",
			Include:                         []string{"./*", "main.py"},
			Exclude:                         []string{".*", "*.tmp"},
			ShellCommands:                   []string{"echo build"},
			PreBuildCommands:                []string{"echo pre"},
			DisableAuth:                     false,
			UseUV:                           true,
			DeploymentInitializationTimeout: 120,
		},
		Hardware: Hardware{CPU: 4, Memory: 16.5, Compute: []string{"AMPERE_A10", "ADA_L4"}, GPUCount: 2, Provider: "aws", Region: "us-east-1"},
		Scaling: Scaling{
			MinReplicas: 1, MaxReplicas: 10, Cooldown: 60, ReplicaConcurrency: 8, ResponseGracePeriod: 45,
			ScalingMetric: MetricRPS, ScalingTarget: 20, ScalingBuffer: 2, EvaluationIntervalSeconds: 15,
			LoadBalancingAlgorithm: LBMinConnections, RollOutDurationSeconds: 120, ComputeTier: "protected",
		},
		Runtime: Runtime{Custom: CustomRuntime{
			Port:                9000,
			Entrypoint:          []string{"python", "-m", "my app", "--name", "a b", "x y"},
			EntrypointSource:    "entrypoint",
			HealthcheckEndpoint: "/health",
			ReadycheckEndpoint:  "/ready",
			DockerfilePath:      "./Dockerfile",
		}},
		Dependencies: Dependencies{
			Pip:   map[string]string{"torch": ">=2.0", "scikit-learn": "latest"},
			Apt:   map[string]string{"ffmpeg": ""},
			Conda: map[string]string{"cuda": "12.1"},
			Paths: map[string]string{"pip": "requirements.txt", "apt": "pkglist.txt", "conda": "conda_pkglist.txt"},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("cerebrium.toml", []byte("[cerebrium.deployment]\nname = \"x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Deployment.Name = "x"
	want.Path = mustAbs(t, "cerebrium.toml")
	want.Dir = filepath.Dir(want.Path)
	if diff := cmp.Diff(&want, c); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
	// Spot-check Cerebrium's documented values, so a change to Defaults
	// cannot slip through.
	d := c
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"include", d.Deployment.Include, []string{"*"}},
		{"exclude", d.Deployment.Exclude, []string{".*"}},
		{"disable_auth", d.Deployment.DisableAuth, true},
		{"deployment_initialization_timeout", d.Deployment.DeploymentInitializationTimeout, 600},
		{"cpu", d.Hardware.CPU, 2.0},
		{"memory", d.Hardware.Memory, 4.0},
		{"compute", d.Hardware.Compute, []string{"CPU"}},
		{"gpu_count", d.Hardware.GPUCount, 0},
		{"min_replicas", d.Scaling.MinReplicas, 0},
		{"max_replicas", d.Scaling.MaxReplicas, 1},
		{"cooldown", d.Scaling.Cooldown, 10},
		{"replica_concurrency", d.Scaling.ReplicaConcurrency, 100},
		{"response_grace_period", d.Scaling.ResponseGracePeriod, 900},
		{"scaling_metric", d.Scaling.ScalingMetric, MetricConcurrency},
		{"scaling_target", d.Scaling.ScalingTarget, 100},
		{"scaling_buffer", d.Scaling.ScalingBuffer, 0},
		{"evaluation_interval_seconds", d.Scaling.EvaluationIntervalSeconds, 30},
		{"load_balancing_algorithm", d.Scaling.LoadBalancingAlgorithm, ""},
		{"roll_out_duration_seconds", d.Scaling.RollOutDurationSeconds, 0},
		{"port", d.Runtime.Custom.Port, 8000},
		{"healthcheck_endpoint", d.Runtime.Custom.HealthcheckEndpoint, ""},
		{"readycheck_endpoint", d.Runtime.Custom.ReadycheckEndpoint, ""},
	} {
		if diff := cmp.Diff(check.want, check.got); diff != "" {
			t.Errorf("default %s (-want +got):\n%s", check.name, diff)
		}
	}
	if d.Scaling.EffectiveLoadBalancing() != LBRoundRobin {
		t.Errorf("EffectiveLoadBalancing() = %q with concurrency 100, want %q", d.Scaling.EffectiveLoadBalancing(), LBRoundRobin)
	}
}

func TestGPUDefaults(t *testing.T) {
	c, err := Load("testdata/gpu/cerebrium.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Hardware.GPUCount != 1 || c.Scaling.ReplicaConcurrency != 1 || !c.Hardware.IsGPU() {
		t.Errorf("GPU defaults: gpu_count %d, replica_concurrency %d, IsGPU %v; want 1, 1, true",
			c.Hardware.GPUCount, c.Scaling.ReplicaConcurrency, c.Hardware.IsGPU())
	}
	if diff := cmp.Diff([]string{"HOPPER_H100"}, c.Hardware.Compute); diff != "" {
		t.Errorf("compute as a string is a list once loaded (-want +got):\n%s", diff)
	}
	if c.Scaling.EffectiveLoadBalancing() != LBFirstAvailable {
		t.Errorf("EffectiveLoadBalancing() = %q with concurrency 1, want %q", c.Scaling.EffectiveLoadBalancing(), LBFirstAvailable)
	}

	// Explicit values win over the GPU defaults.
	c, err = Parse("c.toml", []byte("[cerebrium.deployment]\nname = \"g\"\n[cerebrium.hardware]\ncompute = [\"ADA_L4\"]\ngpu_count = 4\n[cerebrium.scaling]\nreplica_concurrency = 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hardware.GPUCount != 4 || c.Scaling.ReplicaConcurrency != 7 {
		t.Errorf("explicit gpu_count %d, replica_concurrency %d; want 4, 7", c.Hardware.GPUCount, c.Scaling.ReplicaConcurrency)
	}
}

func TestLoadExamples(t *testing.T) {
	matches, err := filepath.Glob("../examples/*/cerebrium.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		if _, err := Load(m); err != nil {
			t.Errorf("Load(%q): %v", m, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no cerebrium.toml in "+dir) {
		t.Errorf("Load(empty dir) = %v, want a not-exist error naming the directory", err)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing file) = %v, want fs.ErrNotExist", err)
	}

	// Problems name the file as it was given.
	p := filepath.Join(dir, "x.toml")
	if err := os.WriteFile(p, []byte("[cerebrium.deployment]\nname = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	want := p + `:2:8: cerebrium.deployment.name: expected a string, got integer 1`
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
}

func TestParseAcceptsBOMAndCRLF(t *testing.T) {
	src := "\xef\xbb\xbf[cerebrium.deployment]\r\nname = \"crlf\"\r\n[cerebrium.scaling]\r\ncooldown = \"x\"\r\n"
	_, err := Parse("w.toml", []byte(src))
	want := `w.toml:4:12: cerebrium.scaling.cooldown: expected an integer number of seconds, got string "x"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse = %v, want %s", err, want)
	}
}

func TestColumnsCountCharacters(t *testing.T) {
	src := "[cerebrium.deployment]\nname = \"app\" # é\n[cerebrium.hardware]\nregion = \"zürich\"\ncpu = \"x\"\nprovider = \"ü\"; \n"
	_, err := Parse("u.toml", []byte(src))
	if err == nil {
		t.Fatal("Parse: no error")
	}
	// The syntax error is after the multi-byte character: col counts it once.
	want := "u.toml:6:15: TOML syntax error: expected newline but got U+003B ';'"
	if err.Error() != want {
		t.Errorf("Parse = %q, want %q", err, want)
	}
}

func TestWarningsForShellOperators(t *testing.T) {
	c, err := Parse("c.toml", []byte("[cerebrium.deployment]\nname = \"a\"\n[cerebrium.runtime.custom]\nentrypoint = \"make build && ./server\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`c.toml:4:14: cerebrium.runtime.custom.entrypoint: "&&" reaches the program as a plain argument: no shell runs the entrypoint; write ["/bin/sh", "-c", "exec ..."] if you need one`}
	if diff := cmp.Diff(want, c.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	// Quoted, it is an argument on purpose.
	c, err = Parse("c.toml", []byte("[cerebrium.deployment]\nname = \"a\"\n[cerebrium.runtime.custom]\nentrypoint = \"echo '&&'\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("quoted operator warned: %v", c.Warnings)
	}
}

// TestWriteTOMLRoundTrip: the effective configuration, written out, loads
// back to the same configuration.
func TestWriteTOMLRoundTrip(t *testing.T) {
	for _, p := range []string{"testdata/full", "testdata/gpu", "testdata/seed"} {
		t.Run(p, func(t *testing.T) {
			c, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.WriteTOML(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Parse(filepath.Join(p, FileName), buf.Bytes())
			if err != nil {
				t.Fatalf("Parse(WriteTOML output): %v\n%s", err, buf.String())
			}
			ignore := cmpopts.IgnoreFields(CustomRuntime{}, "EntrypointSource")
			if diff := cmp.Diff(c, back, ignore, cmpopts.IgnoreFields(Config{}, "Warnings")); diff != "" {
				t.Errorf("round trip mismatch (-loaded +reloaded):\n%s\n%s", diff, buf.String())
			}
		})
	}
}

func TestWriteTOMLNotes(t *testing.T) {
	c, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTOML(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"[cerebrium.deployment]\nname = \"your-app-name\"\n",
		"\ncpu = 1.0\n",
		`load_balancing_algorithm = "" # auto: first-available`,
		`entrypoint = ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"] # from Dockerfile CMD (testdata/seed/Dockerfile:5)`,
		`readycheck_endpoint = "" # TCP check on the port`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTOML output lacks %q:\n%s", want, out)
		}
	}
}
