package procstat

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestParseStatNameWithSpacesAndParens(t *testing.T) {
	line := "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 104857600 2560 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{pgrp: 4242, utime: 250, stime: 50, rssPages: 2560}
	if got != want {
		t.Fatalf("parseStat = %+v, want %+v", got, want)
	}
	if _, err := parseStat([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short stat line: no error")
	}
}

func TestGroupOfRealProcesses(t *testing.T) {
	// A shell that busy-loops in a child, in its own process group.
	cmd := exec.Command("/bin/sh", "-c", "while :; do :; done & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	var u Usage
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if u, err = Group(pgid); err != nil {
			t.Fatal(err)
		}
		if u.Processes == 2 && u.CPUSeconds >= 0.2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u.Processes != 2 || u.CPUSeconds < 0.2 || u.RSSBytes == 0 {
		t.Fatalf("Group(%d) = %+v, want 2 processes, ≥0.2 s CPU, some memory", pgid, u)
	}
	if other, err := Group(pgid + 1_000_000); err != nil || other.Processes != 0 {
		t.Fatalf("unused group: %+v, %v", other, err)
	}
}

func TestGroupSkipsUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "12"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "12", "stat"), []byte("12 (x) S 1 7 7 0 -1 0 0 0 0 0 10 10 0 0 20 0 1 0 1 1 5 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "13"), 0o755); err != nil { // exited: no stat
		t.Fatal(err)
	}
	u, err := groupIn(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	if u.Processes != 1 || u.CPUSeconds != 0.2 || u.RSSBytes != 5*uint64(os.Getpagesize()) {
		t.Fatalf("groupIn = %+v", u)
	}
}
