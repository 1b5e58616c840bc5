package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one process of the app's process group.
type Proc struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
}

func (p Proc) String() string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm) }

// procRoot is where the proc file system is mounted.
const procRoot = "/proc"

// procStat is what /proc/PID/stat says about a process.
type procStat struct {
	pid   int
	comm  string
	state byte
	pgid  int
}

// readStat parses /proc/PID/stat. The comm field may contain spaces and
// parentheses, so it is taken up to the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("check: read stat of pid %d: %w", pid, err)
	}
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("check: parse stat of pid %d: no comm", pid)
	}
	rest := strings.Fields(string(b[closing+1:]))
	if len(rest) < 3 || len(rest[0]) != 1 {
		return procStat{}, fmt.Errorf("check: parse stat of pid %d: short", pid)
	}
	pgid, err := strconv.Atoi(rest[2])
	if err != nil {
		return procStat{}, fmt.Errorf("check: parse stat of pid %d: pgrp: %w", pid, err)
	}
	return procStat{pid: pid, comm: string(b[open+1 : closing]), state: rest[0][0], pgid: pgid}, nil
}

// listeningInodes returns the socket inodes listening on TCP port, from
// /proc/net/tcp and /proc/net/tcp6.
func listeningInodes(port int) map[uint64]bool {
	out := map[uint64]bool{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		fh, err := os.Open(filepath.Join(procRoot, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A = LISTEN
				continue
			}
			colon := strings.LastIndexByte(fs[1], ':')
			p, err := strconv.ParseUint(fs[1][colon+1:], 16, 16)
			if err != nil || int(p) != port {
				continue
			}
			if ino, err := strconv.ParseUint(fs[9], 10, 64); err == nil && ino != 0 {
				out[ino] = true
			}
		}
		fh.Close()
	}
	return out
}

// socketHolders returns the processes among procs that hold an open file
// descriptor on one of the socket inodes.
func socketHolders(procs []Proc, inodes map[uint64]bool) []Proc {
	var out []Proc
	for _, p := range procs {
		dir := filepath.Join(procRoot, strconv.Itoa(p.PID), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
			if err == nil && inodes[ino] {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// signalDisposition reports whether process pid ignores or catches signal
// sig, from the SigIgn and SigCgt masks of /proc/PID/status.
func signalDisposition(pid, sig int) (ignored, caught bool) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return false, false
	}
	bit := uint64(1) << (sig - 1)
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			continue
		}
		switch name {
		case "SigIgn":
			ignored = mask&bit != 0
		case "SigCgt":
			caught = mask&bit != 0
		}
	}
	return ignored, caught
}

// isShell reports whether comm names a POSIX shell.
func isShell(comm string) bool {
	switch comm {
	case "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox":
		return true
	}
	return false
}
