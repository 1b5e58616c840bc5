package export

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-run/ebb/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// base is a valid effective config; cases change what they test.
func base(name string) *config.Config {
	return &config.Config{
		Path: "/apps/" + name + "/cerebrium.toml",
		Dir:  "/apps/" + name,
		Deployment: config.Deployment{
			Name:                            name,
			Include:                         []string{"./*"},
			Exclude:                         []string{".*"},
			DeploymentInitializationTimeout: 600,
		},
		Hardware: config.Hardware{CPU: 1, Memory: 1, Compute: []string{"CPU"}, Provider: "aws", Region: "us-east-1"},
		Scaling: config.Scaling{
			MinReplicas:               0,
			MaxReplicas:               2,
			Cooldown:                  30,
			ReplicaConcurrency:        1,
			ResponseGracePeriod:       900,
			ScalingMetric:             config.MetricConcurrency,
			ScalingTarget:             100,
			EvaluationIntervalSeconds: 30,
		},
		Runtime: config.Runtime{Custom: config.CustomRuntime{
			Port:             8000,
			Entrypoint:       []string{"uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"},
			EntrypointSource: "Dockerfile CMD (./Dockerfile)",
			DockerfilePath:   "./Dockerfile",
		}},
	}
}

// goldenCases are the configs whose exports are kept in testdata.
var goldenCases = []struct {
	name string
	cfg  func() *config.Config
	opts Options
}{
	{
		// The seed example: min_replicas 0, concurrency metric, the
		// command from the Dockerfile CMD.
		name: "seed",
		cfg:  func() *config.Config { return base("your-app-name") },
		opts: Options{Image: "registry.example/your-app-name:1"},
	},
	{
		// The seed example as config.Load reads it, defaults and all.
		name: "seed-loaded",
		cfg: func() *config.Config {
			c, err := config.Load(filepath.Join("..", "..", "config", "testdata", "seed")) // the copy config's own tests load
			if err != nil {
				panic(err)
			}
			return c
		},
		opts: Options{Image: "registry.example/your-app-name:1"},
	},
	{
		name: "cpu-app",
		cfg: func() *config.Config {
			c := base("cpu-app")
			c.Hardware.CPU = 2
			c.Hardware.Memory = 4
			c.Scaling.MinReplicas = 2
			c.Scaling.MaxReplicas = 10
			c.Scaling.Cooldown = 120
			c.Scaling.ReplicaConcurrency = 20
			c.Scaling.ResponseGracePeriod = 30
			c.Scaling.ScalingMetric = config.MetricCPU
			c.Scaling.ScalingTarget = 70
			c.Runtime.Custom.Entrypoint = []string{"python", "main.py"}
			return c
		},
		opts: Options{Image: "registry.example/cpu-app:2", Namespace: "apps"},
	},
	{
		name: "gpu-app",
		cfg: func() *config.Config {
			c := base("gpu-app")
			c.Hardware.CPU = 4
			c.Hardware.Memory = 15.5
			c.Hardware.Compute = []string{"ADA_L4"}
			c.Hardware.GPUCount = 1
			c.Deployment.DeploymentInitializationTimeout = 900
			c.Scaling.MinReplicas = 1
			c.Scaling.MaxReplicas = 4
			c.Scaling.ReplicaConcurrency = 4
			c.Scaling.ScalingTarget = 80
			c.Scaling.ResponseGracePeriod = 300
			c.Scaling.RollOutDurationSeconds = 120
			c.Runtime.Custom.Port = 8080
			c.Runtime.Custom.Entrypoint = []string{"python", "-m", "server", "--port", "8080"}
			c.Runtime.Custom.ReadycheckEndpoint = "/ready"
			return c
		},
		opts: Options{Image: "registry.example/gpu-app:3", LameDuck: 10 * time.Second},
	},
	{
		name: "health-rps",
		cfg: func() *config.Config {
			c := base("health-rps")
			c.Hardware.CPU = 0.5
			c.Hardware.Memory = 0.75
			c.Scaling.MinReplicas = 1
			c.Scaling.MaxReplicas = 3
			c.Scaling.Cooldown = 0
			c.Scaling.ReplicaConcurrency = 50
			c.Scaling.ResponseGracePeriod = 60
			c.Scaling.ScalingMetric = config.MetricRPS
			c.Scaling.ScalingTarget = 25
			c.Scaling.ScalingBuffer = 1
			c.Scaling.LoadBalancingAlgorithm = config.LBRoundRobin
			c.Runtime.Custom.HealthcheckEndpoint = "/health"
			c.Runtime.Custom.ReadycheckEndpoint = "/ready"
			return c
		},
		opts: Options{Image: "registry.example/health-rps:4"},
	},
	{
		name: "memory-app",
		cfg: func() *config.Config {
			c := base("memory-app")
			c.Hardware.Memory = 2
			c.Scaling.MaxReplicas = 6
			c.Scaling.ScalingMetric = config.MetricMemory
			c.Scaling.ScalingTarget = 75
			c.Scaling.ResponseGracePeriod = 45
			return c
		},
		opts: Options{Image: "registry.example/memory-app:5"},
	},
}

// render is what `ebb export` prints: the warnings (stderr), as comments,
// then the YAML (stdout).
func render(t *testing.T, export func(*config.Config, Options) ([]Object, []string, error), cfg *config.Config, opts Options) string {
	t.Helper()
	objs, warnings, err := export(cfg, opts)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	out, err := YAML(objs)
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	var b strings.Builder
	for _, w := range warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	b.Write(out)
	return b.String()
}

func TestGolden(t *testing.T) {
	targets := map[string]func(*config.Config, Options) ([]Object, []string, error){
		"kubernetes": Kubernetes,
		"knative":    Knative,
	}
	for _, tc := range goldenCases {
		for target, export := range targets {
			t.Run(tc.name+"/"+target, func(t *testing.T) {
				got := render(t, export, tc.cfg(), tc.opts)
				path := filepath.Join("testdata", tc.name+"."+target+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/export -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s differs (-want +got):\n%s", path, diff)
				}
			})
		}
	}
}

func TestRefused(t *testing.T) {
	img := Options{Image: "registry.example/app:1"}
	cases := []struct {
		name   string
		target string
		cfg    func() *config.Config
		opts   Options
		want   string
	}{
		{
			name: "no command", target: "kubernetes",
			cfg: func() *config.Config {
				c := base("app")
				c.Runtime.Custom.Entrypoint = nil
				return c
			},
			opts: img,
			want: "export kubernetes: /apps/app/cerebrium.toml cannot be expressed: the app has no command: set [cerebrium.runtime.custom] entrypoint (or a Dockerfile CMD in exec form), because the container runs `ebb run -- COMMAND`",
		},
		{
			name: "bad name", target: "knative",
			cfg:  func() *config.Config { return base("My_App") },
			opts: img,
			want: `export knative: /apps/My_App/cerebrium.toml cannot be expressed: [cerebrium.deployment] name "My_App" is not a valid Kubernetes Service name (an RFC 1035 label); use lower-case letters, digits and '-', at most 63 characters, starting with a letter and ending with a letter or digit`,
		},
		{
			name: "cpu metric without cpu", target: "kubernetes",
			cfg: func() *config.Config {
				c := base("app")
				c.Hardware.CPU = 0
				c.Scaling.ScalingMetric = config.MetricCPU
				return c
			},
			opts: img,
			want: `export kubernetes: /apps/app/cerebrium.toml cannot be expressed: scaling_metric "cpu_utilization" needs [cerebrium.hardware] cpu: a HorizontalPodAutoscaler measures utilization against the CPU request`,
		},
		{
			name: "cooldown and replicas", target: "knative",
			cfg: func() *config.Config {
				c := base("app")
				c.Scaling.Cooldown = 7200
				c.Scaling.MinReplicas = 3
				return c
			},
			opts: img,
			want: "export knative: /apps/app/cerebrium.toml cannot be expressed: [cerebrium.scaling] min_replicas 3 must be between 0 and max_replicas (2); [cerebrium.scaling] cooldown 7200 s is outside 0-3600 s, the longest scale-down window Kubernetes and Knative accept",
		},
		{
			name: "negative lame duck", target: "kubernetes",
			cfg:  func() *config.Config { return base("app") },
			opts: Options{Image: "registry.example/app:1", LameDuck: -time.Second},
			want: "export kubernetes: /apps/app/cerebrium.toml cannot be expressed: --lame-duck -1s must not be negative",
		},
		{
			name: "no image", target: "knative",
			cfg:  func() *config.Config { return base("app") },
			want: "export knative: an image is required: pass --image REGISTRY/NAME:TAG (the image must hold the app and the ebb binary)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			export := Kubernetes
			if tc.target == "knative" {
				export = Knative
			}
			objs, _, err := export(tc.cfg(), tc.opts)
			if err == nil {
				t.Fatalf("exported %d objects, want refusal %q", len(objs), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			var re *RefusedError
			if tc.name != "no image" && !errors.As(err, &re) {
				t.Errorf("error %T is not a *RefusedError", err)
			}
			if tc.name == "no image" && !errors.Is(err, ErrNoImage) {
				t.Errorf("error %v is not ErrNoImage", err)
			}
		})
	}
}

// TestKnativeRunsImageCMDWithoutEntrypoint: Knative needs no ebb run, so a
// config without a command uses the image's own CMD instead of refusing.
func TestKnativeRunsImageCMDWithoutEntrypoint(t *testing.T) {
	c := base("app")
	c.Runtime.Custom.Entrypoint = nil
	objs, _, err := Knative(c, Options{Image: "registry.example/app:1"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "command:") {
		t.Errorf("Knative Service sets a command without an entrypoint:\n%s", out)
	}
}

// TestTerminationGraceOutlastsDrain: the kubelet's SIGKILL must come after
// ebb run's lame duck plus grace, whatever the lame duck.
func TestTerminationGraceOutlastsDrain(t *testing.T) {
	for _, ld := range []time.Duration{0, 1500 * time.Millisecond, 30 * time.Second} {
		c := base("app")
		c.Scaling.ResponseGracePeriod = 17
		objs, _, err := Kubernetes(c, Options{Image: "i", LameDuck: ld})
		if err != nil {
			t.Fatal(err)
		}
		d := objs[1].(*deployment)
		eff := ld
		if eff == 0 {
			eff = DefaultLameDuck
		}
		want := ceilSeconds(17*time.Second + eff + TerminationMargin)
		if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != want {
			t.Errorf("lame duck %s: terminationGracePeriodSeconds = %d, want %d", ld, got, want)
		}
		if !strings.Contains(strings.Join(d.Spec.Template.Spec.Containers[0].Command, " "), "--lame-duck="+eff.String()) {
			t.Errorf("lame duck %s: command %q lacks --lame-duck=%s", ld, d.Spec.Template.Spec.Containers[0].Command, eff)
		}
	}
}
