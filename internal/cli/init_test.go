//go:build !shim

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInit(t *testing.T) {
	t.Setenv(envEbbModuleDir, "")
	dir := filepath.Join(t.TempDir(), "My_New App")
	code, stdout, stderr := runCLI(t, "init", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `Created app "my-new-app"`) || !strings.Contains(stdout, "Next steps:") ||
		!strings.Contains(stdout, "  cd '"+dir+"'\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stdout, "  go mod tidy ") || !strings.Contains(stdout, "  go run . ") {
		t.Errorf("next steps lack go mod tidy and go run:\n%s", stdout)
	}
	for _, f := range []string{"cerebrium.toml", "go.mod", "main.go", "Dockerfile"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	code, _, stderr = runCLI(t, "validate", dir)
	if code != 0 {
		t.Errorf("validate of the new app: exit %d\n%s", code, stderr)
	}

	// A second init refuses and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	code, _, stderr = runCLI(t, "init", dir)
	if code != 1 || !strings.Contains(stderr, "refusing to overwrite") || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("second init: exit %d, stderr %q", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if string(before) != string(after) {
		t.Error("second init changed main.go")
	}
}

func TestInitName(t *testing.T) {
	t.Setenv(envEbbModuleDir, "")
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "init", "--name", "Bad Name", dir)
	if code != 1 || !strings.Contains(stderr, `"Bad Name" is not a valid app name`) || !strings.Contains(stderr, `like "bad-name"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "init", "--name", "api", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cerebrium.toml"))
	if err != nil || !strings.Contains(string(b), "name = \"api\"\n") {
		t.Errorf("cerebrium.toml: %v\n%s", err, b)
	}
}

func TestInitEbbModule(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "init", "--ebb-module", "../..", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "go.mod replaces github.com/ebb-run/ebb with "+root) {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(b), "\nreplace github.com/ebb-run/ebb => "+root+"\n") ||
		!strings.Contains(string(b), "\nrequire github.com/ebb-run/ebb v") {
		t.Errorf("go.mod: %v\n%s", err, b)
	}

	// EBB_MODULE_DIR is the default; a directory that is not ebb is refused
	// before anything is written.
	t.Setenv(envEbbModuleDir, t.TempDir())
	dir = t.TempDir()
	code, _, stderr = runCLI(t, "init", dir)
	if code != 1 || !strings.Contains(stderr, "ebb init: --ebb-module: ") || !strings.Contains(stderr, "is not a checkout of ebb") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("init wrote %v although it failed", entries)
	}
}

func TestReleaseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                             "v1.2.3",
		"v0.4.0-rc.1":                        "v0.4.0-rc.1",
		"devel":                              "",
		"":                                   "",
		"v1.2":                               "",
		"v1.2.3+dirty":                       "",
		"v0.0.0-20261126043700-95dcc04abcde": "",
		"v0.0.0-20261126043700-95dcc04abcde+dirty": "",
		"v1.2.4-0.20261126043700-95dcc04abcde":     "",
	} {
		if got := releaseVersion(in); got != want {
			t.Errorf("releaseVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"my-app":  "my-app",
		"a/b_c.d": "a/b_c.d",
		"My App":  "'My App'",
		"it's":    `'it'\''s'`,
		"":        "''",
		"$HOME/x": "'$HOME/x'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
