package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtures builds the Go fixtures once per test run.
var fixtures = struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}{}

// fixtureBin returns the path of the built fixture program name.
func fixtureBin(t *testing.T, name string) string {
	t.Helper()
	fixtures.once.Do(func() {
		fixtures.dir, fixtures.err = os.MkdirTemp("", "ebb-check-fixtures-")
		if fixtures.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", fixtures.dir+string(os.PathSeparator),
			"./testdata/plain", "./testdata/ignore", "./testdata/closer", "./testdata/good",
			"../../examples/hello", "../../cmd/ebb")
		fixtures.out, fixtures.err = cmd.CombinedOutput()
	})
	if fixtures.err != nil {
		t.Fatalf("build fixtures: %v\n%s", fixtures.err, fixtures.out)
	}
	return filepath.Join(fixtures.dir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

// runCheck runs a check with short timings and logs the text report.
func runCheck(t *testing.T, o Options) *Report {
	t.Helper()
	if o.Grace == 0 {
		o.Grace = 3 * time.Second
	}
	if o.StartupTimeout == 0 {
		o.StartupTimeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var b strings.Builder
	_ = r.WriteText(&b)
	t.Logf("report:\n%s", b.String())
	return r
}
