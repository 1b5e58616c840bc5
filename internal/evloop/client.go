//go:build linux

package evloop

import (
	"bytes"
	"net/url"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebb-run/ebb/internal/limiter"
)

// phase is where a client connection is in its current request.
type phase uint8

const (
	phHead     phase = iota // reading a request (or idle between requests)
	phHeld                  // the policy said Wait
	phQueued                // waiting for a concurrency slot
	phUpstream              // forwarding: the request out, the response back
	phReply                 // writing a Reply of the loop's own
	phClosed
)

// client is one client connection and the request it is in.
type client struct {
	fd  int
	gen int32 // tells its events from those of an earlier holder of fd
	ip  string
	id  []byte // the request id sent upstream
	in  []byte // read from the client and not yet consumed
	out []byte // to be written to the client

	readable, writable, hup bool

	ph    phase
	since time.Time // when the connection last went idle (phHead)
	req   request   // the request being served (valid past phHead)
	start time.Time
	seq   uint64 // counts requests, to recognise a stale slot grant

	admitted bool // Policy.Done is owed
	slot     bool // holds a limiter slot
	ticket   *limiter.Ticket
	up       *upstream
	resp     response
	code     int  // status sent to the client; 0 before the head
	retried  bool // sent once more on a fresh connection
	reached  bool // an earlier attempt may have reached the upstream
	lastHead bool // close after this response
}

// step advances c as far as its sockets allow.
func (l *loop) step(c *client) {
	for {
		var more bool
		switch c.ph {
		case phHead:
			more = l.readRequest(c)
		case phUpstream:
			more = l.exchange(c)
		case phReply:
			more = l.writeReply(c)
		case phHeld, phQueued:
			if c.hup {
				l.abort(c)
			}
			return
		case phClosed:
			return
		}
		if !more {
			return
		}
	}
}

// readRequest reads until a whole request is in c.in, then dispatches it.
func (l *loop) readRequest(c *client) bool {
	o := &l.s.o
	for {
		if len(c.in) > 0 {
			n := 0 // the head was parsed on an earlier read; the body was short
			if c.req.total == 0 {
				n = parseRequest(c.in, &c.req, o.MaxBody)
			}
			switch {
			case n == needMore:
				if len(c.in) == cap(c.in) {
					if len(c.in) >= maxHead {
						l.handOff(c)
						return false
					}
					c.in = grow(c.in, min(2*cap(c.in), maxHead))
				}
			case n == notOurs:
				l.handOff(c)
				return false
			default:
				if len(c.in) >= c.req.total {
					l.dispatch(c)
					return true
				}
				if cap(c.in) < c.req.total {
					c.in = grow(c.in, c.req.total)
				}
			}
		}
		if !c.readable {
			return false
		}
		n, err := unix.Read(c.fd, c.in[len(c.in):cap(c.in)])
		switch {
		case n > 0:
			if n < cap(c.in)-len(c.in) && !c.hup {
				c.readable = false // drained: the next arrival is a new edge
			}
			if len(c.in) == 0 {
				c.since = l.now // the header timeout runs from the first byte
			}
			c.in = c.in[:len(c.in)+n]
		case err == unix.EAGAIN:
			c.readable = false
			return false
		case err == unix.EINTR:
		default: // EOF or an error: the client is gone
			l.closeClient(c)
			return false
		}
	}
}

func grow(b []byte, n int) []byte {
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}

// dispatch decides a complete request.
func (l *loop) dispatch(c *client) {
	o := &l.s.o
	c.start = l.now
	c.seq++
	c.code, c.retried, c.reached, c.lastHead = 0, false, false, c.req.close
	l.busy++
	path := c.req.path(c.in)
	if bytes.IndexByte(path, '%') >= 0 {
		// Probe paths are compared decoded, as net/http's URL.Path is.
		if p, err := url.PathUnescape(string(path)); err == nil {
			path = []byte(p)
		}
	}
	switch {
	case o.ReadyPath != "" && string(path) == o.ReadyPath:
		v, r := o.Policy.Probe()
		l.decided(c, v, r)
	case o.HealthPath != "" && string(path) == o.HealthPath:
		l.forward(c)
	default:
		c.admitted = true
		v, r := o.Policy.Admit(Arrived)
		l.decided(c, v, r)
	}
}

// decided carries out a verdict about c's request.
func (l *loop) decided(c *client, v Verdict, r *Reply) {
	switch v {
	case Answer:
		l.reply(c, r)
	case Wait:
		c.ph = phHeld
		l.nheld.Add(1)
		l.held = append(l.held, c)
	case Forward:
		if !c.admitted || c.slot {
			l.forward(c)
			return
		}
		if l.s.o.Limiter.TryAcquire() {
			// A free slot: no place in the queue, and no closure to
			// allocate for one.
			c.slot = true
			l.forward(c)
			return
		}
		seq := c.seq
		t, ok, err := l.s.o.Limiter.Enqueue(func() { l.post(func() { l.granted(c, seq) }) })
		switch {
		case err != nil:
			l.reply(c, l.s.o.QueueFull)
		case ok:
			c.slot = true
			l.forward(c)
		default:
			c.ph, c.ticket = phQueued, t
		}
	}
}

// granted runs when a queued request got its slot.
func (l *loop) granted(c *client, seq uint64) {
	if c.ph != phQueued || c.seq != seq {
		return // it gave up and released the slot already
	}
	c.ticket, c.slot = nil, true
	v, r := l.s.o.Policy.Admit(Granted)
	if v == Wait {
		v = Forward // a state never goes back to starting
	}
	l.decided(c, v, r)
	l.step(c)
}

// unqueue takes c out of the limiter's queue, giving back a slot it was
// handed meanwhile.
func (l *loop) unqueue(c *client) {
	if c.ph == phQueued && c.ticket != nil {
		if l.s.o.Limiter.Cancel(c.ticket) {
			l.s.o.Limiter.Release()
		}
		c.ticket = nil
	}
}

// reply starts writing r as the answer to c's request.
func (l *loop) reply(c *client, r *Reply) {
	c.ph, c.code = phReply, r.Code
	b := r.Bytes
	if c.req.isHead && r.headLen > 0 {
		b = b[:r.headLen]
	}
	c.out = append(c.out, b...)
	if r.Close || !l.s.o.Policy.KeepAlive() {
		c.lastHead = true
	}
}

// writeReply writes a reply of the loop's own and finishes the request.
func (l *loop) writeReply(c *client) bool {
	if !l.flush(c) {
		return false
	}
	l.finish(c)
	return c.ph == phHead
}

// flush writes c.out; it reports whether all of it went.
func (l *loop) flush(c *client) bool {
	for len(c.out) > 0 {
		if !c.writable {
			return false
		}
		n, err := unix.Write(c.fd, c.out)
		switch {
		case n > 0:
			c.out = c.out[:copy(c.out, c.out[n:])]
		case err == unix.EAGAIN:
			c.writable = false
			return false
		case err == unix.EINTR:
		default:
			l.abort(c)
			return false
		}
	}
	return true
}

// finish ends the current request once its answer is written: the slot
// goes back, the policy hears of it, and the connection waits for the next
// request or closes.
func (l *loop) finish(c *client) {
	l.endRequest(c)
	c.in = c.in[:copy(c.in, c.in[c.req.total:])]
	c.req.total = 0
	c.since = l.now
	if c.lastHead || !l.accepting {
		l.closeClient(c)
	}
	l.checkQuiet()
}

// endRequest gives back what c's request held: its slot, and the policy's
// count (Done). c is then between requests.
func (l *loop) endRequest(c *client) {
	l.release(c)
	if c.admitted {
		c.admitted = false
		l.s.o.Policy.Done(c.code, l.now.Sub(c.start))
	}
	c.ph = phHead
	l.busy--
}

// release gives back c's concurrency slot, if it holds one.
func (l *loop) release(c *client) {
	if c.slot {
		c.slot = false
		l.s.o.Limiter.Release()
	}
}

// abort ends c's request without an answer (or with a partial one) and
// closes the connection.
func (l *loop) abort(c *client) {
	if c.ph == phClosed {
		return
	}
	l.unqueue(c)
	l.closeUpstream(c)
	if c.ph == phHeld {
		l.nheld.Add(-1)
	}
	if c.ph != phHead {
		l.endRequest(c)
	}
	l.closeClient(c)
	l.checkQuiet()
}

// closeClient closes an idle connection (or one abort has cleaned up).
func (l *loop) closeClient(c *client) {
	if c.ph != phHead {
		l.abort(c)
		return
	}
	c.ph = phClosed
	l.clients[c.fd] = nil
	l.nconn--
	_ = unix.Close(c.fd)
}
