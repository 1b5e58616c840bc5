package platform_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/churn"
	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/supervisor"
	"github.com/ebb-run/ebb/internal/testapps"
)

// helloBin is the examples/hello binary, built once by TestMain.
var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ebb-platform-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if helloBin, err = testapps.Build(dir, "examples/hello"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helloConfig is a config running the hello example with short timeouts.
func helloConfig(name string) *config.Config {
	dir, _ := filepath.Abs("../../examples/hello")
	return &config.Config{
		Path: filepath.Join(dir, "cerebrium.toml"),
		Dir:  dir,
		Deployment: config.Deployment{
			Name: name, DisableAuth: true, DeploymentInitializationTimeout: 20,
		},
		Scaling: config.Scaling{
			MinReplicas: 1, MaxReplicas: 5, ReplicaConcurrency: 4, ResponseGracePeriod: 6,
		},
		Runtime: config.Runtime{Custom: config.CustomRuntime{
			Port: 8000, Entrypoint: []string{helloBin}, ReadycheckEndpoint: "/ready",
		}},
	}
}

// pythonConfig runs a Python fixture of internal/testapps (module "seed" or
// "plain") under Debian's uvicorn.
func pythonConfig(name, module string) *config.Config {
	dir := testapps.PythonDir()
	return &config.Config{
		Path: filepath.Join(dir, "cerebrium.toml"),
		Dir:  dir,
		Deployment: config.Deployment{
			Name: name, DisableAuth: true, DeploymentInitializationTimeout: 30,
		},
		Scaling: config.Scaling{
			MinReplicas: 1, MaxReplicas: 5, ReplicaConcurrency: 4, ResponseGracePeriod: 4,
		},
		Runtime: config.Runtime{Custom: config.CustomRuntime{
			Port: 8000,
			Entrypoint: []string{testapps.DebianPython, "-m", "uvicorn", module + ":app",
				"--host", "127.0.0.1", "--port", "8000", "--no-access-log"},
			ReadycheckEndpoint: "/ready",
		}},
	}
}

// running is a platform under test.
type running struct {
	p      *platform.Platform
	cancel context.CancelFunc
	done   chan error
	out    *testapps.Output
	pids   sync.Map // every replica pid seen
}

// startPlatform runs apps on loopback ports and waits until they are ready.
// Cleanup stops it and kills any process group it left behind.
func startPlatform(t *testing.T, env []string, cfgs ...*config.Config) *running {
	t.Helper()
	r := launch(t, env, cfgs...)
	select {
	case <-r.p.Ready():
	case err := <-r.done:
		t.Fatalf("platform exited: %v\n%s", err, r.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("platform not ready after 30s\n%s", r.out.String())
	}
	return r
}

// launch starts a platform without waiting for its apps to be ready.
func launch(t *testing.T, env []string, cfgs ...*config.Config) *running {
	t.Helper()
	return launchWith(t, nil, env, cfgs...)
}

// launchWith is launch with options changed by mod (when not nil).
func launchWith(t *testing.T, mod func(*platform.Options), env []string, cfgs ...*config.Config) *running {
	t.Helper()
	out := &testapps.Output{}
	opts := platform.Options{
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
		Driver: &platform.LocalDriver{Env: append(os.Environ(), env...)},
		Out:    out, ReplicaOutput: testing.Verbose(), HealthInterval: 200 * time.Millisecond,
		LoadConfig: func(dir string) (*config.Config, error) {
			return nil, errors.New("not used in tests")
		},
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := platform.New(cfgs, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, done: make(chan error, 1), out: out}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		r.pids.Range(func(k, _ any) bool {
			pid := k.(int)
			if members, _ := supervisor.GroupMembers(pid); len(members) > 0 {
				t.Errorf("process group %d still alive after the platform stopped", pid)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			return true
		})
		if t.Failed() || os.Getenv("EBB_TEST_LOG") != "" {
			t.Logf("platform output:\n%s", out.String())
		}
	})
	go r.watchPIDs(ctx)
	return r
}

// watchPIDs records every replica pid, so that cleanup can check they are
// all gone.
func (r *running) watchPIDs(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, a := range r.p.Status().Apps {
			for _, v := range a.Revisions {
				for _, rep := range v.Replicas {
					if rep.PID > 0 {
						r.pids.Store(rep.PID, true)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *running) stop(t *testing.T) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Errorf("platform did not stop within 30s")
	}
}

func (r *running) url(app, path string) string { return r.p.RouterURL() + "/" + app + path }

func (r *running) app(t *testing.T, name string) platform.AppStatus {
	t.Helper()
	return r.p.App(name).Status()
}

// replicas lists the app's replicas in every revision.
func (r *running) replicas(name string) []platform.ReplicaStatus {
	var out []platform.ReplicaStatus
	for _, v := range r.p.App(name).Status().Revisions {
		out = append(out, v.Replicas...)
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// load is a load generator: workers send a mix of short and long requests
// until stopped, and count what failed.
type load struct {
	sent, failed atomic.Int64
	stopc        chan struct{}
	wg           sync.WaitGroup
	mu           sync.Mutex
	failures     []string
	failedAt     []time.Time
}

// loadMix names the request each worker sends in turn.
type loadMix struct {
	hello, slow, stream int     // workers of each kind
	long                float64 // seconds for slow and stream
}

func startLoad(t *testing.T, base string, mix loadMix) *load {
	t.Helper()
	l := &load{stopc: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}, Timeout: 30 * time.Second}
	kinds := []struct {
		n  int
		fn func() error
	}{
		{mix.hello, func() error { return doHello(client, base) }},
		{mix.slow, func() error { return doSlow(client, base, mix.long) }},
		{mix.stream, func() error { return doStream(client, base, mix.long) }},
	}
	for _, k := range kinds {
		for range k.n {
			l.wg.Go(func() {
				for {
					select {
					case <-l.stopc:
						return
					default:
					}
					l.sent.Add(1)
					if err := k.fn(); err != nil {
						l.failed.Add(1)
						l.mu.Lock()
						l.failedAt = append(l.failedAt, time.Now())
						if len(l.failures) < 20 {
							l.failures = append(l.failures, time.Now().Format("15:04:05.000")+" "+err.Error())
						}
						l.mu.Unlock()
					}
				}
			})
		}
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) stop() {
	select {
	case <-l.stopc:
	default:
		close(l.stopc)
	}
	l.wg.Wait()
}

// stopAndCheck stops the load and fails the test unless every request
// succeeded.
func (l *load) stopAndCheck(t *testing.T) {
	t.Helper()
	l.stop()
	t.Logf("load: %d requests sent, %d failed", l.sent.Load(), l.failed.Load())
	if l.failed.Load() > 0 {
		t.Errorf("%d of %d requests failed; first failures:\n%s", l.failed.Load(), l.sent.Load(), strings.Join(l.failures, "\n"))
	}
	if l.sent.Load() < 10 {
		t.Errorf("only %d requests sent: the load generator did not run", l.sent.Load())
	}
}

// The kinds of request of the load, shared with the churn measurement.
var (
	doHello  = churn.Hello
	doSlow   = churn.Slow
	doStream = churn.Stream
)
