//go:build linux

package evloop

import (
	"net/http"

	"golang.org/x/sys/unix"

	"github.com/ebb-run/ebb/internal/proxy"

	"time"
)

// upBufSize is the read buffer of an upstream connection: the largest
// response head, and the most of a body read at once.
const upBufSize = 16 << 10

// upstream is one connection to the app.
type upstream struct {
	fd       int
	gen      int32  // tells its events from those of an earlier holder of fd
	in       []byte // read from the upstream, not yet relayed (from off)
	off      int
	out      []byte // the request being sent (kept whole for a resend)
	sent     int
	lastUsed time.Time
	c        *client // nil while pooled

	readable, writable, hup bool
	eof                     bool // the upstream closed its side: read to the end
	connecting, reused      bool
}

var (
	badGateway = NewReply(http.StatusBadGateway, true, "the app's answer was cut short or malformed\n")
	noAnswer   = NewReply(http.StatusBadGateway, true, "the app closed the connection without answering\n")
)

// getUpstream takes the most recently used pooled connection that is still
// open, or dials a new one. A connection is checked (one recv(MSG_PEEK))
// when it has been idle for a while, or when the request must not be sent
// twice: an upstream's close may still be on its way as an event, and only
// an idempotent request can be resent after finding the connection closed.
func (l *loop) getUpstream(check bool) (*upstream, error) {
	for len(l.idle) > 0 {
		u := l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		if (check || l.now.Sub(u.lastUsed) > staleAfter) && !alive(u.fd) {
			l.closeUp(u)
			continue
		}
		u.reused = true
		return u, nil
	}
	return l.dial()
}

// alive reports whether a pooled connection is still open and silent.
func alive(fd int) bool {
	var b [1]byte
	_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return err == unix.EAGAIN
}

func (l *loop) dial() (*upstream, error) {
	family := unix.AF_INET
	if _, ok := l.up.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	connecting := false
	switch err := unix.Connect(fd, l.up); err {
	case nil:
	case unix.EINPROGRESS:
		connecting = true
	default:
		_ = unix.Close(fd)
		return nil, err
	}
	u := &upstream{fd: fd, gen: l.nextGen(), in: make([]byte, 0, upBufSize), connecting: connecting, writable: !connecting}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: connEvents, Fd: int32(fd), Pad: u.gen}); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	l.ups = put(l.ups, fd, u)
	return u, nil
}

// closeUp closes an upstream connection.
func (l *loop) closeUp(u *upstream) {
	l.ups[u.fd] = nil
	_ = unix.Close(u.fd)
	if u.c != nil {
		u.c.up = nil
		u.c = nil
	}
}

// dropIdle closes a pooled connection on an event: unless it was a stale
// edge for data already read, the upstream closed it or broke the protocol.
func (l *loop) dropIdle(u *upstream) {
	if !u.hup && alive(u.fd) {
		u.readable = false
		return
	}
	l.closeIdle(u)
}

// closeIdle takes u out of the pool and closes it.
func (l *loop) closeIdle(u *upstream) {
	for i, v := range l.idle {
		if v == u {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			break
		}
	}
	l.closeUp(u)
}

// closeUpstream closes c's upstream connection, if any (its response is
// not finished, so it is not reused).
func (l *loop) closeUpstream(c *client) {
	if c.up != nil {
		l.closeUp(c.up)
	}
}

// forward sends c's request to the upstream.
func (l *loop) forward(c *client) {
	u, err := l.getUpstream(!c.req.idempotent)
	if err != nil {
		l.refused(c)
		return
	}
	if c.req.hasReqID {
		c.id = append(c.id[:0], c.req.reqID.of(c.in)...)
	} else {
		c.id = proxy.AppendRequestID(c.id[:0])
	}
	u.out = appendUpstream(u.out[:0], c.in, &c.req, c.ip, c.id)
	u.sent = 0
	l.attach(c, u)
}

func (l *loop) attach(c *client, u *upstream) {
	u.c, c.up = c, u
	u.in, u.off = u.in[:0], 0
	c.ph = phUpstream
	c.resp = response{}
}

// refused answers a request the upstream did not take: its connection
// was refused or closed before the request went out. When an earlier
// attempt did go out (this is a resend after the app closed that
// connection without answering), the app may have been processing it (it
// died with it), so the answer is 502, not the policy's refusal, which
// says the request was not processed.
func (l *loop) refused(c *client) {
	if c.reached {
		l.failWith(c, noAnswer)
		return
	}
	l.declined(c)
}

// declined answers a request the upstream did not process, with the
// policy's refusal.
func (l *loop) declined(c *client) {
	l.closeUpstream(c)
	l.release(c)
	if !c.admitted && l.s.o.ProbeRefused != nil {
		l.reply(c, l.s.o.ProbeRefused)
		return
	}
	l.reply(c, l.s.o.Policy.Refused())
}

// resend sends c's request again on a new connection, after the pooled one
// it went to turned out closed before it answered anything.
func (l *loop) resend(c *client) {
	old := c.up
	c.retried, c.reached = true, old.sent > 0
	u, err := l.dial()
	if err != nil {
		l.refused(c)
		return
	}
	u.out, old.out = old.out, u.out
	l.closeUp(old)
	u.sent = 0
	l.attach(c, u)
}

// exchange moves c's request to the upstream and the response back.
func (l *loop) exchange(c *client) bool {
	if c.hup {
		l.abort(c) // the client went away: the request is cancelled
		return false
	}
	u := c.up
	if u != nil && u.connecting {
		if !u.writable {
			return false
		}
		if e, err := unix.GetsockoptInt(u.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
			l.refused(c)
			return true
		}
		u.connecting = false
	}
	for u != nil && u.sent < len(u.out) {
		if !u.writable {
			return false
		}
		n, err := unix.Write(u.fd, u.out[u.sent:])
		switch {
		case n > 0:
			u.sent += n
		case err == unix.EAGAIN:
			u.writable = false
			return false
		case err == unix.EINTR:
		default:
			// Closed under us, most likely a pooled connection the
			// upstream had closed.
			switch {
			case l.resendable(c):
				l.resend(c)
			case u.sent == 0 || !u.reused:
				l.refused(c)
			default:
				l.fail(c)
			}
			return true
		}
	}
	for {
		if len(c.out) > 0 && !l.flush(c) {
			return false
		}
		if c.resp.done {
			l.finish(c)
			return c.ph == phHead
		}
		if u == nil || !u.readable {
			return false
		}
		n, err := unix.Read(u.fd, u.in[len(u.in):cap(u.in)])
		switch {
		case n > 0:
			if n < cap(u.in)-len(u.in) && !u.eof {
				u.readable = false
			}
			u.in = u.in[:len(u.in)+n]
			c.resp.read += n
			if !l.relay(c) {
				return true
			}
		case err == unix.EAGAIN:
			u.readable = false
			return false
		case err == unix.EINTR:
		default:
			return l.upstreamEnded(c)
		}
	}
}

// upstreamEnded handles the upstream closing the connection (or failing).
func (l *loop) upstreamEnded(c *client) bool {
	switch {
	case c.resp.headDone && c.resp.fr == frClose:
		c.resp.done = true
		l.upstreamDone(c)
	case c.resp.headDone:
		l.abort(c) // cut short: the client sees the connection close
		return false
	case l.resendable(c):
		// A pooled connection closed as the request went out: the app
		// timed it out or is going away.
		l.resend(c)
	case c.resp.read == 0:
		l.failWith(c, noAnswer)
	default:
		l.fail(c)
	}
	return true
}

// resendable reports whether c's request may go again on a new connection:
// it went out on a pooled one that failed before any answer, it has not
// been resent yet, and either none of it was sent or it is idempotent.
func (l *loop) resendable(c *client) bool {
	u := c.up
	return u.reused && !c.retried && c.resp.read == 0 && (u.sent == 0 || c.req.idempotent)
}

// fail answers 502 when nothing of the response was sent yet, else cuts
// the connection.
func (l *loop) fail(c *client) { l.failWith(c, badGateway) }

// failWith is fail with r as the 502.
func (l *loop) failWith(c *client, r *Reply) {
	if c.code != 0 {
		l.abort(c)
		return
	}
	l.closeUpstream(c)
	l.release(c)
	c.out = c.out[:0]
	l.reply(c, r)
}

// relay moves what the upstream sent to c.out. It returns false when it
// answered or aborted instead.
func (l *loop) relay(c *client) bool {
	u := c.up
	r := &c.resp
	for !r.headDone {
		var h responseHead
		mark := len(c.out)
		out, n, err := parseResponse(c.out, u.in[u.off:], &h)
		switch {
		case err != nil:
			c.out = c.out[:mark]
			l.fail(c)
			return false
		case n == 0:
			c.out = out
			if len(u.in) == cap(u.in) {
				l.fail(c) // a head larger than the buffer
				return false
			}
			return true
		case h.code < 200 && h.code != 101:
			c.out = c.out[:mark] // 1xx informational: dropped
			u.off += n
			continue
		case h.code == 101:
			c.out = c.out[:mark] // no upgrade was asked for
			l.fail(c)
			return false
		case h.drain && h.code == http.StatusServiceUnavailable:
			c.out = c.out[:mark]
			l.declined(c) // the app says it did not process it
			return false
		}
		fr, keep := framingOf(&h, c.req.isHead)
		c.out = out
		if !h.hasReqID {
			c.out = append(c.out, "X-Request-Id: "...)
			c.out = append(c.out, c.id...)
			c.out = append(c.out, "\r\n"...)
		}
		if c.lastHead || fr == frClose || !l.accepting || !l.s.o.Policy.KeepAlive() {
			c.lastHead = true
			c.out = append(c.out, "Connection: close\r\n"...)
		}
		c.out = append(c.out, "\r\n"...)
		c.code = h.code
		r.headDone, r.fr, r.keepAlive, r.left = true, fr, keep, h.length
		u.off += n
	}
	b := u.in[u.off:]
	switch r.fr {
	case frNone:
		r.done = true
		r.keepAlive = r.keepAlive && len(b) == 0
	case frLength:
		k := min(int64(len(b)), r.left)
		c.out = append(c.out, b[:k]...)
		r.left -= k
		if r.left == 0 {
			r.done = true
			r.keepAlive = r.keepAlive && int(k) == len(b)
		}
	case frChunked:
		k, err := r.chunks.scan(b)
		if err != nil {
			l.abort(c)
			return false
		}
		c.out = append(c.out, b[:k]...)
		if r.chunks.done() {
			r.done = true
			r.keepAlive = r.keepAlive && k == len(b)
		}
	case frClose:
		c.out = append(c.out, b...)
	}
	u.in, u.off = u.in[:0], 0
	if r.done {
		l.upstreamDone(c)
	}
	return true
}

// upstreamDone runs once the whole response has been read: the slot goes
// back (the app is done with the request) and the connection to the pool.
func (l *loop) upstreamDone(c *client) {
	l.release(c)
	u := c.up
	if u == nil {
		return
	}
	if !c.resp.keepAlive || u.eof || u.hup || len(l.idle) >= maxIdleUpstream || !l.accepting {
		l.closeUp(u)
		return
	}
	u.c, c.up = nil, nil
	u.lastUsed = l.now
	u.in, u.off = u.in[:0], 0
	l.idle = append(l.idle, u)
}
