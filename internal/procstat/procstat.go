// Package procstat reads the CPU time and resident memory of a process
// group from /proc, for the cpu_utilization and memory_utilization scaling
// metrics.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Usage is the resources used by the processes of one group.
type Usage struct {
	// CPUSeconds is the user plus system CPU time the live processes of the
	// group have used since they started. Its rate of change is cores in use.
	CPUSeconds float64
	// RSSBytes is the resident memory of the live processes of the group.
	RSSBytes uint64
	// Processes is how many processes of the group were found.
	Processes int
}

// Group sums the usage of every process whose process group is pgid.
// A process that exits while it is read is skipped.
func Group(pgid int) (Usage, error) {
	return groupIn("/proc", pgid)
}

func groupIn(root string, pgid int) (Usage, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	pageSize := uint64(os.Getpagesize())
	var u Usage
	for _, e := range entries {
		name := e.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		data, err := os.ReadFile(root + "/" + name + "/stat")
		if err != nil {
			continue // gone, or not ours to read
		}
		st, err := parseStat(data)
		if err != nil {
			return Usage{}, fmt.Errorf("procstat: %s/%s/stat: %w", root, name, err)
		}
		if st.pgrp != pgid {
			continue
		}
		u.Processes++
		u.CPUSeconds += float64(st.utime+st.stime) / clockTicks
		u.RSSBytes += st.rssPages * pageSize
	}
	return u, nil
}

type stat struct {
	pgrp         int
	utime, stime uint64
	rssPages     uint64
}

// parseStat reads the fields of /proc/PID/stat that Group needs. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(data []byte) (stat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return stat{}, errors.New("no command name")
	}
	f := bytes.Fields(data[i+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return stat{}, fmt.Errorf("%d fields after the command name, want at least 22", len(f))
	}
	var firstErr error
	num := func(n int) uint64 {
		v, err := strconv.ParseUint(string(f[n-3]), 10, 64)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("field %d: %w", n, err)
		}
		return v
	}
	var s stat
	s.pgrp = int(num(5))
	s.utime = num(14)
	s.stime = num(15)
	s.rssPages = num(24)
	return s, firstErr
}
