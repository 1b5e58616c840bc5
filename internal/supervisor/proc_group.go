package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// GroupMembers lists the live processes (not zombies) whose process group is
// pgid, by reading /proc. Tests and `ebb check` use it to prove that no
// process of an app outlives it.
func GroupMembers(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("supervisor: group members: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 || string(f[0]) == "Z" || string(f[0]) == "X" {
			continue
		}
		if g, err := strconv.Atoi(string(f[2])); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// WaitGroupGone waits until no process of group pgid is left, checking
// every 10 ms, and returns nil, or ctx's error when ctx ends first. After a
// shell leading the group has exited, this is how to wait for the server it
// started (sh -c "cd app && exec-less server") to finish its own shutdown.
func WaitGroupGone(ctx context.Context, pgid int) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		members, err := GroupMembers(pgid)
		if err != nil {
			return err
		}
		if len(members) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("supervisor: group %d still has %v: %w", pgid, members, ctx.Err())
		case <-t.C:
		}
	}
}
