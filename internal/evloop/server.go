//go:build linux

// Package evloop is the shim's hot path: an HTTP/1.1 reverse proxy to one
// upstream on loopback, run by a few event loops (one locked OS thread
// each, on its own epoll instance) instead of a goroutine per connection.
//
// A loop reads a request, asks its owner's Policy what to do with it,
// takes a concurrency slot, writes the request to a pooled upstream
// connection and relays the answer, all with non-blocking system calls:
// per request one read and one write on each side, and one epoll_wait for
// however many connections are ready. On a machine where waking a
// goroutine costs several microseconds of kernel time, this is what brings
// the shim to the CPU cost per request of nginx.
//
// The loops take the common shape of request: HTTP/1.1, origin-form target,
// a body of at most MaxBody bytes with a Content-Length (or none), no
// Upgrade, Expect or Transfer-Encoding. Any response is relayed, streamed as
// it arrives (Content-Length, chunked or until close). Every other request
// hands its connection, with the bytes already read, to Options.HandOff (the
// shim's net/http server, which streams large and chunked bodies and
// tunnels upgrades); the connection stays there.
package evloop

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebb-run/ebb/internal/limiter"
)

// Supported reports whether this platform has the event loops; elsewhere
// New fails and callers serve with net/http.
const Supported = true

// Verdict is what becomes of a request.
type Verdict uint8

const (
	// Forward sends the request to the upstream, once it holds a
	// concurrency slot (probes need none).
	Forward Verdict = iota
	// Wait holds the request until Kick, then asks again.
	Wait
	// Answer sends the Reply returned with it instead.
	Answer
)

// Stage is when Policy.Admit is asked.
type Stage uint8

const (
	Arrived Stage = iota // the request was just read
	Recheck              // it is held (Wait) and Kick was called
	Granted              // it queued and now holds a concurrency slot
)

// Reply is a complete answer the loops send themselves.
type Reply struct {
	Code    int
	Close   bool   // the connection closes after it
	Bytes   []byte // status line, headers and body
	headLen int    // of Bytes, through the empty line; 0: all of it
}

// NewReply builds a Reply with a text body and the given extra header
// lines (each "Name: value").
func NewReply(code int, close bool, body string, headers ...string) *Reply {
	b := fmt.Appendf(nil, "HTTP/1.1 %03d %s\r\n", code, statusText(code))
	for _, h := range headers {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = fmt.Appendf(b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n", len(body))
	head := len(b)
	return &Reply{Code: code, Close: close, Bytes: append(b, body...), headLen: head}
}

// Policy is the owner's say over requests. Its methods are called on the
// loops' goroutines, concurrently, and must not block.
type Policy interface {
	// Admit decides a request other than a probe, at each stage of its
	// wait: as it arrives (the owner counts it then), on Kick while it is
	// held (Wait), and when it gets its concurrency slot after queueing.
	Admit(st Stage) (Verdict, *Reply)
	// Probe decides a request for Options.ReadyPath: Forward (without a
	// slot) or Answer.
	Probe() (Verdict, *Reply)
	// Refused answers a request the upstream did not process: the
	// connection was refused or closed before the request was sent, or the
	// answer carried the drain marker. (A resend refused after the first
	// attempt went out is answered 502 instead: the app may have processed
	// that attempt.)
	Refused() *Reply
	// KeepAlive reports whether client connections may stay open after
	// the response being started.
	KeepAlive() bool
	// Done is called once for every request Admit was first called for,
	// when it is over: code is the status the client got (0: none, the
	// connection was cut), elapsed the time since it arrived.
	Done(code int, elapsed time.Duration)
}

// Options configure New. Listener, Upstream, Policy, Limiter and HandOff
// are required.
type Options struct {
	// Listener is the socket to accept clients on. The server takes a
	// duplicate of it; the caller closes its own.
	Listener *net.TCPListener
	// Upstream is the app's address, "127.0.0.1:PORT" or "[::1]:PORT".
	Upstream string
	// Loops is the number of event loops; 0 means GOMAXPROCS.
	Loops int
	// ReadyPath and HealthPath are probe paths: a request for ReadyPath is
	// decided by Policy.Probe, one for HealthPath is forwarded; neither
	// takes a concurrency slot. "" matches nothing.
	ReadyPath, HealthPath string
	Policy                Policy
	Limiter               *limiter.Limiter
	// QueueFull answers a request that finds the limiter's queue full.
	QueueFull *Reply
	// ProbeRefused answers a probe the upstream did not take; nil means
	// Policy.Refused.
	ProbeRefused *Reply
	// ListenFailed is told, once, of an accept error that is not about
	// running out of a resource (those pause accepting for a moment): the
	// listening socket is broken and the loops stop accepting. nil: logged.
	ListenFailed func(error)
	// HandOff receives the connections of requests the loops do not take,
	// with the bytes already read replayed first. It must not block.
	HandOff func(net.Conn)
	// MaxBody is the largest request body the loops take (read in full
	// before forwarding); 0 means 64 KiB.
	MaxBody int
	// HeaderTimeout closes a connection whose request head takes longer;
	// IdleTimeout one without a request for longer. 0: 30 s and 90 s.
	HeaderTimeout, IdleTimeout time.Duration
	Logger                     *slog.Logger
}

// Server runs the event loops.
type Server struct {
	o     Options
	lfd   int
	loops []*loop
	wg    sync.WaitGroup
	once  sync.Once
	lfail sync.Once
}

// listenFailed reports a broken listening socket once.
func (s *Server) listenFailed(err error) {
	s.lfail.Do(func() {
		s.o.Logger.Error("evloop: accept failed; no longer accepting", "err", err)
		if s.o.ListenFailed != nil {
			s.o.ListenFailed(err)
		}
	})
}

// New starts the loops on o.Listener.
func New(o Options) (*Server, error) {
	if o.Listener == nil || o.Policy == nil || o.Limiter == nil || o.HandOff == nil || o.QueueFull == nil {
		return nil, errors.New("evloop: Listener, Policy, Limiter, QueueFull and HandOff are required")
	}
	if _, err := sockaddr(o.Upstream); err != nil {
		return nil, err
	}
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 10
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 90 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	lfd, err := dupListener(o.Listener)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, lfd: lfd}
	for range o.Loops {
		l, err := newLoop(s)
		if err != nil {
			s.closeLoops()
			_ = unix.Close(lfd)
			return nil, err
		}
		s.loops = append(s.loops, l)
	}
	for _, l := range s.loops {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			l.run()
		}()
	}
	return s, nil
}

// Kick makes every loop ask the policy again about the requests it holds
// (Verdict Wait), and close its idle connections once Policy.KeepAlive
// says no; the owner calls it when its state changes.
func (s *Server) Kick() {
	for _, l := range s.loops {
		l.post(l.kicked)
	}
}

// Held is the number of requests held by a Wait verdict.
func (s *Server) Held() int {
	n := int64(0)
	for _, l := range s.loops {
		n += l.nheld.Load()
	}
	return int(n)
}

// End answers every request still waiting or running with r (504 at the end
// of a grace period, 502 when the app exited); one whose response has begun
// has its connection closed. The upstream connections of running requests
// are closed.
func (s *Server) End(r *Reply) {
	for _, l := range s.loops {
		l.post(func() { l.endAll(r) })
	}
}

// Shutdown stops accepting, closes the connections without a request in
// progress, lets the requests in progress finish for up to d, then closes
// every connection and stops the loops. It returns when they have stopped,
// with the number of connections it closed without a request.
func (s *Server) Shutdown(d time.Duration) (closed int) {
	s.once.Do(func() {
		quiet := make(chan int, len(s.loops))
		for _, l := range s.loops {
			l.post(func() { l.quiesce(quiet) })
		}
		t := time.NewTimer(d)
		defer t.Stop()
	wait:
		for range s.loops {
			select {
			case n := <-quiet:
				closed += n
			case <-t.C:
				break wait
			}
		}
		for _, l := range s.loops {
			l.post(l.stop)
		}
		s.wg.Wait()
		s.closeLoops()
		_ = unix.Close(s.lfd)
	})
	return closed
}

func (s *Server) closeLoops() {
	for _, l := range s.loops {
		l.close()
	}
}

// dupListener returns a non-blocking duplicate of ln's socket.
func dupListener(ln *net.TCPListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("evloop: listener: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.Dup(int(s)) }); err != nil {
		return -1, fmt.Errorf("evloop: listener: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("evloop: dup listener: %w", derr)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("evloop: listener: %w", err)
	}
	return fd, nil
}

// sockaddr resolves a numeric host:port.
func sockaddr(addr string) (unix.Sockaddr, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("evloop: upstream %q: %w", addr, err)
	}
	if ap.Addr().Is4() || ap.Addr().Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}, nil
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, nil
}
