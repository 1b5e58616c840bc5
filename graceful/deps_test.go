package graceful_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly fails if the package (its non-test files) imports,
// directly or not, anything outside the standard library: apps embed it, and
// it must not drag dependencies into them.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/ebb-run/ebb/graceful"
	var foreign []string
	for _, p := range strings.Fields(string(out)) {
		if p != self {
			foreign = append(foreign, p)
		}
	}
	if len(foreign) > 0 {
		t.Errorf("package graceful must import only the standard library; it depends on %v", foreign)
	}
	if !strings.Contains(string(out), self) {
		t.Errorf("go list -deps output %q does not list the package itself: the check is not looking at it", out)
	}
}
