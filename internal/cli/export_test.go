//go:build !shim

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeApp writes the seed example's cerebrium.toml and Dockerfile to a
// temporary directory.
func writeApp(t *testing.T, toml string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"cerebrium.toml": toml,
		"Dockerfile":     "FROM python:3.12-bookworm\nCOPY . .\nEXPOSE 8000\nCMD [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8000\"]\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const seedTOML = `[cerebrium.deployment]
name = "your-app-name"
include = ["./*"]
exclude = [".*"]
[cerebrium.hardware]
cpu = 1
memory = 1.0
compute = "CPU"
gpu_count = 0
provider = "aws"
region = "us-east-1"
[cerebrium.scaling]
min_replicas = 0
max_replicas = 2
cooldown = 30
replica_concurrency = 1
[cerebrium.runtime.custom]
port = 8000
dockerfile_path = "./Dockerfile"
`

func TestExportCommands(t *testing.T) {
	dir := writeApp(t, seedTOML)
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		stderr   []string // substrings
		noStdout bool
	}{
		{
			name: "kubernetes",
			args: []string{"export", "kubernetes", dir, "--image", "registry.example/app:1", "-n", "apps"},
			stdout: []string{"kind: Service\n", "\n---\napiVersion: apps/v1\nkind: Deployment\n", "kind: PodDisruptionBudget\n",
				"- --lame-duck=5s\n", "- uvicorn\n", "namespace: apps\n", "terminationGracePeriodSeconds: 910\n"},
			stderr: []string{"warning: [cerebrium.scaling] scaling_metric \"concurrency_utilization\" is not available to a HorizontalPodAutoscaler"},
		},
		{
			name:   "kubernetes lame duck",
			args:   []string{"export", "kubernetes", dir, "--image", "registry.example/app:1", "--lame-duck", "12s"},
			stdout: []string{"- --lame-duck=12s\n", "terminationGracePeriodSeconds: 917\n"},
		},
		{
			name:   "knative",
			args:   []string{"export", "knative", dir, "--image", "registry.example/app:1"},
			stdout: []string{"apiVersion: serving.knative.dev/v1\n", "containerConcurrency: 1\n", "autoscaling.knative.dev/min-scale: \"0\"\n"},
			stderr: []string{"warning: [cerebrium.scaling] response_grace_period 900 s exceeds Knative's default max-revision-timeout-seconds (600)"},
		},
		{
			name:     "no image",
			args:     []string{"export", "kubernetes", dir},
			code:     2,
			stderr:   []string{"ebb export kubernetes: --image is required"},
			noStdout: true,
		},
		{
			name:     "refused",
			args:     []string{"export", "kubernetes", writeApp(t, strings.Replace(seedTOML, "cooldown = 30", "cooldown = 7200", 1)), "--image", "i"},
			code:     1,
			stderr:   []string{"ebb export kubernetes: ", "cerebrium.toml cannot be expressed: [cerebrium.scaling] cooldown 7200 s is outside 0-3600 s"},
			noStdout: true,
		},
		{
			name:     "no config",
			args:     []string{"export", "knative", t.TempDir(), "--image", "i"},
			code:     1,
			stderr:   []string{"ebb export knative: "},
			noStdout: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tc.noStdout && stdout.Len() > 0 {
				t.Errorf("stdout is not empty on failure:\n%s", stdout.String())
			}
		})
	}
}
