//go:build !shim

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCommand runs ebb check on two fixture apps of internal/check:
// one that drains correctly (exit 0) and one with no SIGTERM handling
// (exit 1), and on no command at all (exit 2).
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"../check/testdata/good", "../check/testdata/plain").CombinedOutput()
	if err != nil {
		t.Fatalf("build fixtures: %v\n%s", err, out)
	}
	t.Chdir(dir) // no cerebrium.toml here

	var stdout, stderr bytes.Buffer
	code := run([]string{"check", "--json", "--ready-path", "/ready", "--slow-path", "/slow?seconds=0.5", "--grace", "3",
		"--", filepath.Join(dir, "plain")}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("plain: exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	var report struct {
		OK       bool
		Verdicts []struct{ Property, Status string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("plain: JSON report: %v\n%s", err, stdout.String())
	}
	if report.OK || len(report.Verdicts) != 7 || report.Verdicts[0].Property != "in_flight_complete" || report.Verdicts[0].Status != "FAIL" {
		t.Errorf("plain: report %+v, want not ok with in_flight_complete FAIL first of 7", report)
	}

	stdout.Reset()
	stderr.Reset()
	code = run([]string{"check", "--ready-path", "/ready", "--slow-path", "/slow?seconds=0.5", "--grace", "3",
		"--", filepath.Join(dir, "good")}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "Result: OK (7 PASS, 0 WARN, 0 FAIL)") {
		t.Errorf("good: exit %d, want 0 and all PASS; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}

	stderr.Reset()
	if code := run([]string{"check"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "no command") {
		t.Errorf("no command: exit %d, stderr %q; want 2 naming the missing command", code, stderr.String())
	}
}
