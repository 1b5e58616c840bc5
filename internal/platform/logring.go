package platform

import (
	"strings"
	"sync"
	"time"
)

// LogLine is one line of a replica's output.
type LogLine struct {
	Time    time.Time `json:"time"`
	Replica string    `json:"replica"`
	Stream  string    `json:"stream"` // "stdout" or "stderr"
	Text    string    `json:"text"`
}

// String formats the line as `ebb logs` prints it.
func (l LogLine) String() string {
	return l.Time.Format("15:04:05.000") + " " + l.Replica + " " + l.Text
}

// logRing keeps the last lines of an app's replicas and fans new lines out
// to followers. The zero value is not usable; use newLogRing.
type logRing struct {
	mu        sync.Mutex
	lines     []LogLine // ring of size cap(lines); guarded by mu
	next      int       // index of the next write; guarded by mu
	full      bool      // guarded by mu
	followers map[chan LogLine]struct{}
}

func newLogRing(size int) *logRing {
	return &logRing{lines: make([]LogLine, size), followers: map[chan LogLine]struct{}{}}
}

// add appends a line. A follower too slow to keep up loses lines rather
// than slowing the replica down.
func (r *logRing) add(l LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = l
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	for ch := range r.followers {
		select {
		case ch <- l:
		default:
		}
	}
}

// tail returns up to n of the most recent lines, oldest first, restricted
// to one replica when replica is not empty.
func (r *logRing) tail(n int, replica string) []LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []LogLine
	if r.full {
		all = append(all, r.lines[r.next:]...)
	}
	all = append(all, r.lines[:r.next]...)
	if replica != "" {
		kept := all[:0:0]
		for _, l := range all {
			if l.Replica == replica {
				kept = append(kept, l)
			}
		}
		all = kept
	}
	if n >= 0 && len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}

// follow returns a channel receiving every new line until cancel is called.
func (r *logRing) follow() (lines <-chan LogLine, cancel func()) {
	ch := make(chan LogLine, 256)
	r.mu.Lock()
	r.followers[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.followers, ch)
		r.mu.Unlock()
	}
}

// formatTail renders the last lines of one replica for a crash report.
func formatTail(lines []LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("    ")
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
