package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ebb-run/ebb/internal/benchdoc"
)

// Options configures a benchmark run.
type Options struct {
	// Duration of each measurement. Zero means 5 seconds.
	Duration time.Duration
	// Rounds: every measurement is repeated this many times, interleaved
	// across targets, and the best one kept (the machine is shared; the best
	// run is the least disturbed). Zero means 2.
	Rounds int
	// Conns is the connection count of the throughput measurement. Zero
	// means 32.
	Conns int
	// Pin, when set, pins processes to CPUs with taskset: the load tool to
	// LoadCPUs and the proxy and backend to ServerCPUs.
	Pin                  bool
	LoadCPUs, ServerCPUs string
	// Shim selects what is measured as ebb: "ebb-run" (the `ebb run`
	// binary), "forward" (a minimal server around proxy.Forward), "auto"
	// (ebb run when it works, else forward) or "both" (ebb run and forward,
	// to see what the shim adds to the proxy). Empty means auto.
	Shim string
	// Reference adds a plain httputil.ReverseProxy to the measured paths.
	Reference bool
	// Root is the module root (where ./cmd/ebb is).
	Root string
	// DocsPath is the markdown file whose "## Proxy overhead" section is
	// rewritten with the results; empty: do not write.
	DocsPath string
	// Self is the argv prefix that runs this program (its backend and
	// forward subcommands).
	Self []string
	// Log receives progress lines.
	Log io.Writer
}

// target is one way of reaching the backend.
type target struct {
	name  string
	url   string
	proc  *process // the proxy process; nil for direct
	nginx bool
	// extra marks a target shown for information, not checked against the
	// targets (proxy.Forward alone next to ebb run).
	extra bool
	// rss is the shim's peak resident memory seen under load.
	rss memory
	// shimBuild marks `ebb run` built with -tags shim, whose memory is
	// checked against the target too.
	shimBuild bool
}

// cpuPerRequest is the CPU time the proxy's process group spent per
// request during the throughput measurement.
type cpuPerRequest = time.Duration

// result is one target's best measurements.
type result struct {
	target *target
	// cpu is the proxy's CPU time per request in the best throughput round
	// (for direct: the backend's). Unlike req/s it depends less on what
	// else runs on the machine.
	cpu        cpuPerRequest
	throughput loadResult // at Conns connections
	latency    loadResult // at 1 connection
}

// Run starts the backend and the proxies, measures them, prints a table to
// o.Log and updates o.DocsPath. Every process it starts is stopped by PID
// before it returns, also when ctx is canceled.
func Run(ctx context.Context, o Options) error {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 2
	}
	if o.Conns <= 0 {
		o.Conns = 32
	}
	if o.Shim == "" {
		o.Shim = "auto"
	}
	if o.Log == nil {
		o.Log = os.Stdout
	}
	logf := func(format string, args ...any) { fmt.Fprintf(o.Log, format+"\n", args...) }
	serverCPUs, loadCPUs := "", ""
	if o.Pin {
		serverCPUs, loadCPUs = o.ServerCPUs, o.LoadCPUs
	}

	machine := describeMachine() // before anything starts: the load average
	tmp, err := os.MkdirTemp("", "ebb-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)

	var procs []*process
	var procsMu sync.Mutex
	start := func(name string, argv, env []string) (*process, error) {
		p, err := startProcess(name, argv, env, filepath.Join(tmp, name+".log"), serverCPUs)
		if err != nil {
			return nil, err
		}
		procsMu.Lock()
		procs = append(procs, p)
		procsMu.Unlock()
		return p, nil
	}
	defer func() {
		// Stop in reverse start order: proxies before the backend.
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop(5 * time.Second)
		}
	}()

	// The backend.
	backendAddr, err := freePort()
	if err != nil {
		return err
	}
	backend, err := start("backend", append(o.Self, "backend"), []string{"PORT=" + portOf(backendAddr)})
	if err != nil {
		return err
	}
	if err := waitReady(ctx, backend, "http://"+backendAddr+"/", 10*time.Second); err != nil {
		return err
	}
	targets := []*target{{name: "direct", url: "http://" + backendAddr + "/"}}

	// ebb.
	ebbT, err := startShim(ctx, o, tmp, start, backendAddr, logf)
	if err != nil {
		return err
	}
	targets = append(targets, ebbT)
	if ebbT.name == "ebb run" {
		// The shim build (-tags shim) that container images ship.
		lean, err := startEbbRun(ctx, o, tmp, start, "ebb-shim", []string{"-tags", "shim"})
		if err != nil {
			return err
		}
		lean.name, lean.extra, lean.shimBuild = "ebb run, shim build", true, true
		targets = append(targets, lean)
	}
	if o.Shim == "both" {
		fo := o
		fo.Shim = "forward"
		fwd, err := startShim(ctx, fo, tmp, start, backendAddr, logf)
		if err != nil {
			return err
		}
		fwd.extra = true
		targets = append(targets, fwd)
	}
	if o.Reference {
		listen, err := freePort()
		if err != nil {
			return err
		}
		p, err := start("reverseproxy", append(o.Self, "reverseproxy", "-listen", listen, "-upstream", backendAddr), nil)
		if err != nil {
			return err
		}
		if err := waitReady(ctx, p, "http://"+listen+"/", 10*time.Second); err != nil {
			return err
		}
		targets = append(targets, &target{name: "httputil.ReverseProxy", url: "http://" + listen + "/", proc: p, extra: true})
	}

	// nginx, with one worker and with two: the better one is the baseline.
	if nginx, err := exec.LookPath("nginx"); err == nil {
		for _, workers := range []int{1, 2} {
			addr, err := freePort()
			if err != nil {
				return err
			}
			argv, err := nginxArgv(nginx, tmp, addr, backendAddr, workers)
			if err != nil {
				return err
			}
			p, err := start(fmt.Sprintf("nginx-%dw", workers), argv, nil)
			if err != nil {
				return err
			}
			if err := waitReady(ctx, p, "http://"+addr+"/", 10*time.Second); err != nil {
				return err
			}
			targets = append(targets, &target{name: fmt.Sprintf("nginx, %d worker%s", workers, plural(workers)),
				url: "http://" + addr + "/", proc: p, nginx: true})
		}
	} else {
		logf("nginx not installed: measuring without it")
	}

	ld := newLoader()
	logf("load tool: %s; %d rounds of %v per measurement; pinning: %s", ld.name(), o.Rounds, o.Duration, pinning(o))
	results := make([]*result, len(targets))
	for i, t := range targets {
		results[i] = &result{target: t}
	}
	for round := 1; round <= o.Rounds; round++ {
		for i, t := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Warm up the connection pools.
			if _, err := ld.run(ctx, t.url, o.Conns, time.Second, loadCPUs); err != nil {
				return fmt.Errorf("bench: warm up %s: %w", t.name, err)
			}
			var sampler *rssSampler
			if t.proc != nil && !t.nginx {
				sampler = sampleRSS(t.proc.pid())
			}
			var cpu0 time.Duration
			cpuProc := t.proc
			if cpuProc == nil {
				cpuProc = backend // direct: what the backend's own server costs
			}
			cpu0 = groupCPU(cpuProc.pid())
			thr, err := ld.run(ctx, t.url, o.Conns, o.Duration, loadCPUs)
			var cpu cpuPerRequest
			if thr.Requests > 0 {
				cpu = (groupCPU(cpuProc.pid()) - cpu0) / time.Duration(thr.Requests)
			}
			if sampler != nil {
				if m := sampler.stop(); m.RSS > t.rss.RSS {
					t.rss = m
				}
				if m, err := readMemory(t.proc.pid()); err == nil && m.HWM > t.rss.HWM {
					t.rss.HWM = m.HWM
				}
			}
			if err != nil {
				return fmt.Errorf("bench: %s: %w", t.name, err)
			}
			lat, err := ld.run(ctx, t.url, 1, o.Duration, loadCPUs)
			if err != nil {
				return fmt.Errorf("bench: %s: %w", t.name, err)
			}
			logf("round %d %-18s %8.0f req/s at %d conns (%d errors, CPU %s/req); p50 %s p99 %s at 1 conn",
				round, t.name, thr.RPS, o.Conns, thr.Errors+lat.Errors, fmtCPU(cpu), fmtDur(lat.P50), fmtDur(lat.P99))
			r := results[i]
			if thr.RPS > r.throughput.RPS {
				r.throughput = thr
			}
			if cpu > 0 && (r.cpu == 0 || cpu < r.cpu) {
				r.cpu = cpu
			}
			if r.latency.P50 == 0 || lat.P50 < r.latency.P50 {
				r.latency = lat
			}
		}
	}

	rep := report{
		Machine: machine,
		Load:    ld.name(),
		Conns:   o.Conns,
		Dur:     o.Duration,
		Rounds:  o.Rounds,
		Pinning: pinning(o),
		Results: results,
	}
	table := rep.markdown()
	fmt.Fprintln(o.Log)
	fmt.Fprint(o.Log, table)
	if o.DocsPath != "" {
		if err := benchdoc.UpdateSection(o.DocsPath, sectionTitle, table); err != nil {
			return err
		}
		logf("\nwrote %s", o.DocsPath)
	}
	return nil
}

// startEbbRun builds ./cmd/ebb with extra build flags as name, starts
// `ebb run` in front of the backend and waits until it answers.
func startEbbRun(ctx context.Context, o Options, tmp string, start func(string, []string, []string) (*process, error),
	name string, flags []string) (*target, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, name)
	// Built as `make build` and `make build-shim` build: static, without
	// file paths.
	build := exec.CommandContext(ctx, "go", append(append([]string{"build", "-trimpath"}, flags...), "-o", bin, "./cmd/ebb")...)
	build.Dir = o.Root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: build %s: %w\n%s", name, err, out)
	}
	argv := append([]string{bin, "run", "--listen", listen, "--admin", "127.0.0.1:0", "--"}, o.Self...)
	p, err := start(name, append(argv, "backend"), nil)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, "http://"+listen+"/", 15*time.Second); err != nil {
		p.stop(5 * time.Second)
		log, _ := os.ReadFile(filepath.Join(tmp, name+".log"))
		return nil, fmt.Errorf("%w\n%s", err, lastLines(string(log), 5))
	}
	return &target{name: name, url: "http://" + listen + "/", proc: p}, nil
}

// startShim starts what is measured as ebb and waits until it answers.
func startShim(ctx context.Context, o Options, tmp string, start func(string, []string, []string) (*process, error),
	backendAddr string, logf func(string, ...any)) (*target, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	if o.Shim == "auto" || o.Shim == "ebb-run" || o.Shim == "both" {
		t, err := startEbbRun(ctx, o, tmp, start, "ebb-run", nil)
		if err == nil {
			t.name = "ebb run"
			logf("measuring `ebb run` (pid %d)", t.proc.pid())
			return t, nil
		}
		if o.Shim != "auto" {
			return nil, err
		}
		logf("`ebb run` is not usable (%v); measuring proxy.Forward in a minimal server instead", firstLine(err.Error()))
	}
	p, err := start("forward", append(o.Self, "forward", "-listen", listen, "-upstream", backendAddr), nil)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, "http://"+listen+"/", 10*time.Second); err != nil {
		return nil, err
	}
	return &target{name: "ebb proxy.Forward", url: "http://" + listen + "/", proc: p}, nil
}

// rssSampler records the peak VmRSS of a process while load runs.
type rssSampler struct {
	stopc chan struct{}
	done  chan memory
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan memory, 1)}
	go func() {
		var peak memory
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil && m.RSS > peak.RSS {
				peak = m
			}
			select {
			case <-s.stopc:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() memory {
	close(s.stopc)
	return <-s.done
}

func pinning(o Options) string {
	if !o.Pin {
		return "none (load tool, proxy and backend share all CPUs)"
	}
	return fmt.Sprintf("taskset: load tool on CPU %s, proxy and backend on CPU %s", o.LoadCPUs, o.ServerCPUs)
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// goVersion is the Go version the benchmark was built with.
func goVersion() string { return runtime.Version() }
