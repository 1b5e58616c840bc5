//go:build !shim

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-run/ebb/config"
)

func TestValidateReportsEveryMistake(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cerebrium.toml")
	src := `[cerebrium.deployment]
name = "three-mistakes"

[cerebrium.scaling]
cooldown = "30s"
max_replicas = 2
min_replicas = 3

[cerebrium.runtime.custom]
prot = 8000
`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "validate", dir)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	want := []string{
		p + `:5:12: cerebrium.scaling.cooldown: expected an integer number of seconds, got string "30s"`,
		p + `:7:16: cerebrium.scaling.min_replicas: 3 is greater than max_replicas (2); min_replicas must not exceed max_replicas`,
		p + `:10:1: cerebrium.runtime.custom.prot: unknown key in [cerebrium.runtime.custom]; did you mean "port"?`,
		"ebb validate: 3 problems in " + p,
	}
	if got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, strings.Join(want, "\n"))
	}
}

func TestValidateValid(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", "../../examples/hello")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "# ../../examples/hello/cerebrium.toml is valid.") {
		t.Errorf("stdout does not start with the verdict:\n%s", stdout)
	}
	// The printed configuration is itself a valid cerebrium.toml that
	// loads to the same thing.
	orig, err := config.Load("../../examples/hello")
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(orig.Path, []byte(stdout))
	if err != nil {
		t.Fatalf("printed configuration does not load: %v\n%s", err, stdout)
	}
	if back.Deployment.Name != orig.Deployment.Name || back.Scaling != orig.Scaling || back.Runtime.Custom.Port != orig.Runtime.Custom.Port {
		t.Errorf("printed configuration differs from the file:\n%s", stdout)
	}
}

func TestValidateJSONAndWarnings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cerebrium.toml"), []byte("[cerebrium.deployment]\nname = \"j\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM x\nCMD ./server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "validate", "--json", filepath.Join(dir, "cerebrium.toml"))
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	var got config.Config
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Deployment.Name != "j" || got.Scaling.ResponseGracePeriod != 900 || strings.Join(got.Runtime.Custom.Entrypoint, " ") != "/bin/sh -c ./server" {
		t.Errorf("JSON config: %+v", got)
	}
	if !strings.HasPrefix(stderr, "warning: "+filepath.Join(dir, "Dockerfile")+":2: CMD uses the shell form") {
		t.Errorf("stderr = %q, want the shell-form warning", stderr)
	}
}

func TestValidateMissing(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "validate", dir)
	if code != 1 || !strings.Contains(stderr, "no cerebrium.toml in "+dir) {
		t.Errorf("exit %d, stderr %q; want 1 and a message naming the directory", code, stderr)
	}
}
