package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/internal/supervisor"
)

// process is a child process started by the benchmark in its own process
// group, stopped by PID.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process was reaped
	err  error
}

// startProcess starts argv in a new process group. Output goes to logPath.
func startProcess(name string, argv []string, env []string, logPath string, cpus string) (*process, error) {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id (with taskset, taskset execs the command, so the
// id is the command's).
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process, waits up to grace, then SIGKILLs its
// process group. It returns once the process was reaped.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(p.pid(), syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	// Anything left in its group (it should be empty).
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
}

// freePort returns a loopback address with a port that was free a moment
// ago.
func freePort() (string, error) {
	port, err := supervisor.FreePort()
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// waitReady polls url until it answers 200, the process exits, or timeout.
func waitReady(ctx context.Context, p *process, url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if p.exited() {
			return fmt.Errorf("bench: %s exited before answering %s: %v", p.name, url, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s not ready at %s after %v: %w", p.name, url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memory is a process's resident memory, from /proc/PID/status and
// /proc/PID/smaps_rollup.
type memory struct {
	RSS, HWM int64 // bytes; HWM is the peak RSS
	// Anon and File split RSS into private memory (heap, stacks) and pages
	// of mapped files (mostly the executable's code and read-only data).
	Anon, File int64
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, fmt.Errorf("bench: read memory of %d: %w", pid, err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.HWM = n << 10
		}
	}
	if m.RSS == 0 {
		return m, errors.New("bench: no VmRSS in /proc status")
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || f[2] != "kB" {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "Anonymous:" {
				m.Anon = n << 10
				m.File = m.RSS - m.Anon
			}
		}
	}
	return m, nil
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat
// (100 on every Linux configuration in use).
const clockTicks = 100

// groupCPU returns the CPU time (user + system) used so far by the living
// processes of process group pgid.
func groupCPU(pgid int) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name may hold spaces: fields start after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
		if len(f) < 13 {
			continue
		}
		if pg, _ := strconv.Atoi(f[2]); pg != pgid {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
