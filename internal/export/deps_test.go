package export

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEbbBinaryLeavesOutTestDeps: the control plane used by the integration
// tests (envtest, client-go) and Knative's Go module must never reach the
// ebb binary.
func TestEbbBinaryLeavesOutTestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ebb-run/ebb/cmd/ebb").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go", "knative.dev/", "github.com/ebb-run/ebb/internal/kubetest"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("cmd/ebb depends on %s", pkg)
			}
		}
	}
}
