package churn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/supervisor"
)

// MeasureOptions shape Measure.
type MeasureOptions struct {
	// HelloSrc is the directory of examples/hello, built once.
	HelloSrc string
	// Cycles is how many cold start + burst rounds follow the churn run.
	Cycles int
	// Progress receives progress lines; PlatformLog the platform's own
	// output (events and replica lines). Either may be nil.
	Progress, PlatformLog io.Writer
}

// Measurement is what Measure found.
type Measurement struct {
	// Scaling is the app's [cerebrium.scaling] section.
	Scaling config.Scaling
	// TOML is the app's cerebrium.toml.
	TOML    string
	Churn   *Result
	Cycles  []Cycle
	Machine Machine
	// Leftover counts process groups the platform left behind (and
	// Measure killed); it should be 0.
	Leftover int
	// Scenario is the churn run's shape; CycleBurst requests of
	// CycleBurstSeconds each make the scale-out of every cycle.
	Scenario          Options
	CycleBurst        int
	CycleBurstSeconds float64
}

// scenario is what Measure runs.
var scenario = Options{
	Idle: 2 * time.Second, Burst: 6, BurstSeconds: 3,
	Load:   Mix{Hello: 2, Slow: 2, Stream: 2, Long: 1.5},
	Steady: 4 * time.Second, ZeroLimit: 60 * time.Second,
}

// appTOML is the measured app: the hello binary scaled from zero by
// concurrency, with the shortest windows the config validator accepts.
const appTOML = `[cerebrium.deployment]
name = "churn"
disable_auth = true
deployment_initialization_timeout = 60

[cerebrium.scaling]
min_replicas = 0
max_replicas = 6
replica_concurrency = 2
scaling_metric = "concurrency_utilization"
scaling_target = 70
evaluation_interval_seconds = 6
cooldown = 5
response_grace_period = 5
roll_out_duration_seconds = 3

[cerebrium.runtime.custom]
port = 8000
entrypoint = [%q]
readycheck_endpoint = "/ready"
`

// Measure builds the hello app, runs a platform in this process exactly as
// `ebb up --autoscale` would (local driver, autoscaler, default health
// interval) on loopback ports, and runs the churn scenario and then
// o.Cycles cold start + burst rounds against it. Every replica is stopped
// through the termination sequence when it returns.
func Measure(ctx context.Context, o MeasureOptions) (*Measurement, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	m := &Measurement{Machine: machine(), Scenario: scenario, CycleBurst: 6, CycleBurstSeconds: 2}

	dir, err := os.MkdirTemp("", "ebb-churn")
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "hello")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = o.HelloSrc
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("measure: building %s: %w\n%s", o.HelloSrc, err, out)
	}
	appDir := filepath.Join(dir, "app")
	if err := os.Mkdir(appDir, 0o755); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	m.TOML = fmt.Sprintf(appTOML, bin)
	if err := os.WriteFile(filepath.Join(appDir, config.FileName), []byte(m.TOML), 0o644); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	cfg, err := config.Load(appDir)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	next, err := config.Load(appDir)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	m.Scaling = cfg.Scaling

	plog := o.PlatformLog
	if plog == nil {
		plog = io.Discard
	}
	p, err := platform.New([]*config.Config{cfg}, platform.Options{
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Out: plog, ReplicaOutput: o.PlatformLog != nil,
		LoadConfig: config.Load, Autoscaler: platform.Autoscale,
	})
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	pids := &pidSet{}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		pids.watch(pctx, p)
	}()
	// stopAll stops the platform (draining every replica), then kills any
	// process group it left behind, by its id.
	stopAll := func() error {
		stop()
		err := <-done
		<-watchDone
		m.Leftover = pids.killLeftovers()
		return err
	}

	select {
	case <-p.Ready():
	case err := <-done:
		done <- err
		return nil, errors.Join(fmt.Errorf("measure: platform exited: %w", err), stopAll())
	case <-time.After(30 * time.Second):
		return nil, errors.Join(errors.New("measure: platform not ready after 30s"), stopAll())
	}
	app := p.App("churn")
	base := p.RouterURL() + "/churn"
	m.Machine.LoadBefore = loadAvg()
	logf("churn run (about a minute)…")
	run := m.Scenario
	run.Next, run.Logf = next, logf
	m.Churn, err = Run(ctx, app, base, run)
	if err != nil {
		return m, errors.Join(fmt.Errorf("measure: %w", err), stopAll())
	}
	logf("%s", m.Churn.Summary())
	logf("%d cold start + burst cycles (about 15 s each)…", o.Cycles)
	m.Cycles, err = Cycles(ctx, app, base, o.Cycles, m.CycleBurst, m.CycleBurstSeconds, 60*time.Second, logf)
	m.Machine.LoadAfter = loadAvg()
	if err != nil {
		return m, errors.Join(fmt.Errorf("measure: %w", err), stopAll())
	}
	if err := stopAll(); err != nil {
		return m, fmt.Errorf("measure: stopping the platform: %w", err)
	}
	return m, nil
}

// pidSet is every replica process group seen while the platform ran.
type pidSet struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (s *pidSet) watch(ctx context.Context, p *platform.Platform) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, a := range p.Status().Apps {
			for _, v := range a.Revisions {
				for _, r := range v.Replicas {
					if r.PID > 0 {
						s.mu.Lock()
						if s.pids == nil {
							s.pids = map[int]bool{}
						}
						s.pids[r.PID] = true
						s.mu.Unlock()
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

// killLeftovers kills, by process group id, every group seen that still
// has members, and returns how many there were.
func (s *pidSet) killLeftovers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for pid := range s.pids {
		if members, _ := supervisor.GroupMembers(pid); len(members) > 0 {
			n++
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	return n
}
