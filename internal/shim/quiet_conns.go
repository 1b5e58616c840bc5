package shim

import (
	"net"
	"net/http"
	"sync"
)

// quietConns tracks a server's connections that carry no request: accepted
// but not yet read from (http.StateNew), or between two keep-alive requests
// (http.StateIdle). Once the drain is over they are closed at once:
// http.Server.Shutdown closes idle connections but counts a new one as
// active for 5 s, and load balancers and probes open connections they do
// not use, so without this the exit would wait for the shutdown deadline.
//
// A connection whose request has begun (http.StateActive) is never closed
// here; Shutdown lets it finish, bounded by its deadline.
type quietConns struct {
	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]struct{}
}

// trackQuiet installs a quietConns as hs's ConnState hook.
func trackQuiet(hs *http.Server) *quietConns {
	q := &quietConns{conns: make(map[net.Conn]struct{})}
	hs.ConnState = q.track
	return q
}

// track is the http.Server.ConnState hook. After close it closes every
// connection that becomes quiet, so a connection accepted or gone idle
// meanwhile is not waited for either.
func (q *quietConns) track(c net.Conn, st http.ConnState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch st {
	case http.StateNew, http.StateIdle:
		if q.closing {
			_ = c.Close()
			return
		}
		q.conns[c] = struct{}{}
	default: // active, hijacked (the handler owns it) or closed
		delete(q.conns, c)
	}
}

// close closes the quiet connections, now and from now on, and returns how
// many were open.
func (q *quietConns) close() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closing = true
	n := len(q.conns)
	for c := range q.conns {
		_ = c.Close()
	}
	clear(q.conns)
	return n
}
