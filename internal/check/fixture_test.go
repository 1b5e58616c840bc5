package check

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fixtureBuild is a set of programs built once per test run.
type fixtureBuild struct {
	once sync.Once
	pkgs []string
	err  error
	out  []byte
}

var (
	fixtureDir  string
	fixtureDirE error
	dirOnce     sync.Once
	// The fixtures of this package and the example app build fast; ebb
	// itself is slow to build, so only the test that needs it waits.
	fixturePrograms = &fixtureBuild{pkgs: []string{
		"./testdata/plain", "./testdata/ignore", "./testdata/closer", "./testdata/good", "../../examples/hello",
	}}
	ebbProgram = &fixtureBuild{pkgs: []string{"../../cmd/ebb"}}
)

// fixtureBin returns the path of the built fixture program name.
func fixtureBin(t *testing.T, name string) string {
	t.Helper()
	dirOnce.Do(func() { fixtureDir, fixtureDirE = os.MkdirTemp("", "ebb-check-fixtures-") })
	if fixtureDirE != nil {
		t.Fatal(fixtureDirE)
	}
	b := fixturePrograms
	if name == "ebb" {
		b = ebbProgram
	}
	b.once.Do(func() {
		args := append([]string{"build", "-o", fixtureDir + string(os.PathSeparator)}, b.pkgs...)
		b.out, b.err = exec.Command("go", args...).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build fixtures %v: %v\n%s", b.pkgs, b.err, b.out)
	}
	return filepath.Join(fixtureDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Every observer, request and output copier must have ended.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
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
