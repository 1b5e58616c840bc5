package export

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEbbBinaryLeavesOutTestDeps: the control plane used by the integration
// tests (envtest, client-go), Knative's Go module and Kubernetes' API
// packages must never reach the ebb binary. The API packages are only
// needed by the tests: initialising them costs every ebb process about
// 4 MB of resident memory.
func TestEbbBinaryLeavesOutTestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ebb-run/ebb/cmd/ebb").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "sigs.k8s.io/yaml" || strings.HasPrefix(pkg, "sigs.k8s.io/yaml/") {
			continue // a YAML encoder, small
		}
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "knative.dev/", "github.com/ebb-run/ebb/internal/kubetest"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("cmd/ebb depends on %s", pkg)
			}
		}
	}
}
