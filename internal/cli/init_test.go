package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My_New App")
	code, stdout, stderr := runCLI(t, "init", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `Created app "my-new-app"`) || !strings.Contains(stdout, "Next steps:") ||
		!strings.Contains(stdout, "  cd '"+dir+"'\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, f := range []string{"cerebrium.toml", "main.go", "Dockerfile"} {
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
