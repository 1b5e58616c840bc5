//go:build linux

package evloop

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// Every connection is registered once, edge-triggered, for both
	// directions: a loop tracks readiness itself and never re-arms.
	connEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
	hupEvents  = unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR

	maxIdleUpstream = 256
	// staleAfter: an upstream connection idle for longer is checked with a
	// non-blocking recv(MSG_PEEK) before reuse. One used more recently is
	// trusted for idempotent requests: a close by the upstream reaches the
	// loop as an event, and a request that loses the race is resent.
	staleAfter    = time.Second
	upIdleTimeout = 60 * time.Second
	sweepEvery    = time.Second
)

// loop is one event loop: an epoll instance, the connections registered on
// it, and a locked OS thread that runs them. Everything but the inbox is
// touched only by that thread.
type loop struct {
	s   *Server
	up  unix.Sockaddr // the upstream's address, the loop's own: Connect writes into it
	ep  int
	wr  [2]int // a pipe: writing wr[1] wakes the loop
	evs []unix.EpollEvent

	clients []*client    // by fd
	ups     []*upstream  // by fd
	idle    []*upstream  // pooled upstream connections, most recently used last
	held    []*client    // requests the policy said to Wait (some may have left)
	nheld   atomic.Int64 // requests in phHeld, for Server.Held
	nconn   int          // clients open
	busy    int          // clients with a request in progress

	now         time.Time
	nextSweep   time.Time
	accepting   bool
	quiet       chan<- int // set by quiesce; told the count closed once no request is in progress
	closedQuiet int
	done        bool

	gen         int32
	acceptAgain time.Time // accepting paused (out of file descriptors) until then

	mu       sync.Mutex
	closed   bool // guarded by mu
	inbox    []func()
	spare    []func()
	sleeping atomic.Bool
}

func newLoop(s *Server) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	up, err := sockaddr(s.o.Upstream)
	if err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	l := &loop{s: s, up: up, ep: ep, evs: make([]unix.EpollEvent, 256), accepting: true}
	if err := unix.Pipe2(l.wr[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, l.wr[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.wr[0])})
	if err == nil {
		err = l.addListener()
	}
	if err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// addListener watches the listening socket; EPOLLEXCLUSIVE wakes one loop
// per new connection rather than all of them.
func (l *loop) addListener() error {
	return unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, l.s.lfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(l.s.lfd)})
}

func (l *loop) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, fd := range []int{l.ep, l.wr[0], l.wr[1]} {
		if fd > 0 {
			_ = unix.Close(fd)
		}
	}
	l.ep, l.wr = -1, [2]int{-1, -1}
}

// post runs f on the loop's thread, soon.
func (l *loop) post(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return // after Shutdown: nothing is left to act on
	}
	l.inbox = append(l.inbox, f)
	if l.sleeping.Load() {
		_, _ = unix.Write(l.wr[1], []byte{1})
	}
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !l.done {
		timeout := -1
		if l.nconn > 0 || len(l.idle) > 0 {
			timeout = int(sweepEvery / time.Millisecond)
		}
		if !l.acceptAgain.IsZero() {
			timeout = 100
			if !l.now.Before(l.acceptAgain) {
				l.acceptAgain = time.Time{}
				if l.accepting {
					l.addListener()
				}
			}
		}
		l.sleeping.Store(true)
		l.mu.Lock()
		pending := len(l.inbox) > 0
		l.mu.Unlock()
		if pending {
			timeout = 0
		}
		n, err := unix.EpollWait(l.ep, l.evs, timeout)
		l.sleeping.Store(false)
		l.now = time.Now()
		if err != nil && err != unix.EINTR {
			l.s.o.Logger.Error("evloop: epoll_wait; closing this loop's connections", "err", err)
			break
		}
		for i := range n {
			ev := &l.evs[i]
			fd := int(ev.Fd)
			switch {
			case fd == l.s.lfd:
				l.accept()
			case fd == l.wr[0]:
				var b [64]byte
				for {
					if n, _ := unix.Read(fd, b[:]); n <= 0 {
						break
					}
				}
			case fd < len(l.clients) && l.clients[fd] != nil && l.clients[fd].gen == ev.Pad:
				c := l.clients[fd]
				c.readable = c.readable || ev.Events&(unix.EPOLLIN|hupEvents) != 0
				c.writable = c.writable || ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
				c.hup = c.hup || ev.Events&hupEvents != 0
				l.step(c)
			case fd < len(l.ups) && l.ups[fd] != nil && l.ups[fd].gen == ev.Pad:
				u := l.ups[fd]
				u.readable = u.readable || ev.Events&(unix.EPOLLIN|hupEvents) != 0
				u.writable = u.writable || ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
				u.hup = u.hup || ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0
				u.eof = u.eof || ev.Events&hupEvents != 0
				if u.c != nil {
					l.step(u.c)
				} else if u.readable || u.hup {
					// Data or a close on an idle connection: the upstream
					// closed it, or broke the protocol. Either way it is
					// not reused.
					l.dropIdle(u)
				}
			}
		}
		l.runInbox()
		if !l.now.Before(l.nextSweep) {
			l.sweep()
			l.nextSweep = l.now.Add(sweepEvery)
		}
	}
	l.closeEverything()
}

func (l *loop) runInbox() {
	l.mu.Lock()
	fs := l.inbox
	l.inbox = l.spare[:0]
	l.mu.Unlock()
	for i, f := range fs {
		f()
		fs[i] = nil
	}
	l.spare = fs
}

// accept takes every pending connection.
func (l *loop) accept() {
	for l.accepting {
		fd, sa, err := unix.Accept4(l.s.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
			return
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			// Out of descriptors or memory: pause instead of spinning.
			l.s.o.Logger.Warn("evloop: accept; pausing for 100ms", "err", err)
			_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, l.s.lfd, nil)
			l.acceptAgain = l.now.Add(100 * time.Millisecond)
			return
		default:
			_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, l.s.lfd, nil)
			l.accepting = false
			l.s.listenFailed(err)
			return
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &client{fd: fd, gen: l.nextGen(), ip: peerIP(sa), in: make([]byte, 0, 4096), writable: true, since: l.now}
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: connEvents, Fd: int32(fd), Pad: c.gen}); err != nil {
			_ = unix.Close(fd)
			continue
		}
		l.clients = put(l.clients, fd, c)
		l.nconn++
	}
}

// nextGen numbers a registration, so that an event queued for a closed
// connection is not taken for one of a new connection given the same fd in
// the same batch.
func (l *loop) nextGen() int32 {
	l.gen++
	return l.gen
}

// put stores v at index i of s, growing it as needed.
func put[T any](s []*T, i int, v *T) []*T {
	for i >= len(s) {
		s = append(s, nil)
	}
	s[i] = v
	return s
}

func peerIP(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr).String()
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap().String()
	}
	return ""
}

// kicked handles Server.Kick.
func (l *loop) kicked() {
	if !l.s.o.Policy.KeepAlive() {
		// Keep-alive is over: close the connections idle after a request,
		// as net/http does. New ones wait for their first request (and
		// its answer) or for Shutdown.
		for _, c := range l.clients {
			if c != nil && c.ph == phHead && len(c.in) == 0 && c.seq > 0 {
				l.closeClient(c)
			}
		}
	}
	l.recheckHeld()
}

// recheckHeld asks the policy again about every held request.
func (l *loop) recheckHeld() {
	held := l.held
	l.held = nil
	for _, c := range held {
		if c.ph != phHeld {
			continue
		}
		l.nheld.Add(-1)
		c.ph = phHead // decided sets the next phase
		v, r := l.s.o.Policy.Admit(Recheck)
		l.decided(c, v, r)
		l.step(c)
	}
}

// endAll answers every request in progress with r.
func (l *loop) endAll(r *Reply) {
	for _, c := range l.clients {
		if c == nil {
			continue
		}
		switch c.ph {
		case phHeld, phQueued:
			if c.ph == phHeld {
				l.nheld.Add(-1)
			}
			l.unqueue(c)
			l.reply(c, r)
			l.step(c)
		case phUpstream:
			l.closeUpstream(c)
			if c.code == 0 && len(c.out) == 0 {
				l.reply(c, r)
				l.step(c)
			} else {
				l.abort(c)
			}
		}
	}
}

// quiesce stops accepting and closes the connections without a request in
// progress; quiet is poked once no request is left.
func (l *loop) quiesce(quiet chan<- int) {
	if l.accepting {
		l.accepting = false
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, l.s.lfd, nil)
	}
	l.quiet = quiet
	for _, c := range l.clients {
		if c != nil && c.ph == phHead && len(c.in) == 0 {
			l.closeClient(c)
			l.closedQuiet++
		}
	}
	l.checkQuiet()
}

// checkQuiet pokes the shutdown once no request is in progress.
func (l *loop) checkQuiet() {
	if l.quiet != nil && l.busy == 0 {
		l.quiet <- l.closedQuiet
		l.quiet = nil
	}
}

func (l *loop) stop() { l.done = true }

func (l *loop) closeEverything() {
	for _, c := range l.clients {
		if c != nil {
			l.abort(c)
		}
	}
	for len(l.idle) > 0 {
		l.closeIdle(l.idle[len(l.idle)-1])
	}
	if l.accepting {
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, l.s.lfd, nil)
		l.accepting = false
	}
}

// sweep closes connections past their timeouts.
func (l *loop) sweep() {
	o := &l.s.o
	held := l.held[:0]
	for _, c := range l.held {
		if c.ph == phHeld {
			held = append(held, c)
		}
	}
	clear(l.held[len(held):])
	l.held = held
	for _, c := range l.clients {
		if c == nil || c.ph != phHead {
			continue
		}
		limit := o.IdleTimeout
		if len(c.in) > 0 {
			limit = o.HeaderTimeout
		}
		if l.now.Sub(c.since) > limit {
			l.closeClient(c)
		}
	}
	for i := 0; i < len(l.idle); {
		if u := l.idle[i]; l.now.Sub(u.lastUsed) > upIdleTimeout {
			l.closeIdle(u)
			continue
		}
		i++
	}
}
