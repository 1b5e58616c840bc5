package cli

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"ebb ", "go: " + runtime.Version(), "platform: " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, stdout)
		}
	}

	old := Version
	Version = "v9.9.9"
	defer func() { Version = old }()
	_, stdout, _ = runCLI(t, "version")
	if !strings.HasPrefix(stdout, "ebb v9.9.9\n") {
		t.Errorf("with Version set: %q", stdout)
	}
}
