package check

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serverWatch follows, every interval, whether the app's port is still
// listening and whether the processes holding the listener are alive.
type serverWatch struct {
	port     int
	holders  []Proc
	inodes   map[uint64]bool // the listening sockets when the app was ready
	leader   int
	interval time.Duration
	tl       *timeline

	// Written by run only; read after run returns.
	listenerClosedAt time.Time
	holderExitAt     map[int]time.Time
}

func (w *serverWatch) run(ctx context.Context) {
	w.holderExitAt = map[int]time.Time{}
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		// Times are taken after each look: when the change was known, never
		// before it happened.
		if w.listenerClosedAt.IsZero() && w.closed() {
			w.listenerClosedAt = time.Now()
			w.tl.add(w.listenerClosedAt, "listener", "port "+strconv.Itoa(w.port)+" no longer listening")
		}
		for _, h := range w.holders {
			if _, gone := w.holderExitAt[h.PID]; gone {
				continue
			}
			if !alive(h.PID) {
				now := time.Now()
				w.holderExitAt[h.PID] = now
				if h.PID != w.leader {
					w.tl.add(now, "process", h.String()+" (holding the listener) exited")
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

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if _, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(pid))); err != nil {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

// closed reports whether the listener is gone: no holder has one of its
// sockets open any more. Reading the holders' fd tables is exact and cheap,
// unlike /proc/net/tcp, which lists every socket of the machine (thousands
// in TIME_WAIT during a check) and lags. Without known holders it falls
// back to /proc/net/tcp.
func (w *serverWatch) closed() bool {
	if len(w.holders) == 0 || len(w.inodes) == 0 {
		return len(listeningInodes(w.port)) == 0
	}
	return len(socketHolders(w.holders, w.inodes)) == 0
}
