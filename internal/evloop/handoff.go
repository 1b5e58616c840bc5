//go:build linux

package evloop

import (
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// handOff gives c's connection, and the bytes read from it, to the general
// path. The loop forgets it.
func (l *loop) handOff(c *client) {
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.clients[c.fd] = nil
	l.nconn--
	c.ph = phClosed
	f := os.NewFile(uintptr(c.fd), "client")
	nc, err := net.FileConn(f) // a duplicate, on Go's poller
	_ = f.Close()
	if err != nil {
		l.s.o.Logger.Warn("evloop: hand-off", "err", err)
		return
	}
	l.s.o.HandOff(&replayConn{Conn: nc, pre: append([]byte(nil), c.in...)})
}

// replayConn is a connection whose first reads return pre.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection, for tunnels.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Listener is a net.Listener whose connections are the ones handed off
// (Options.HandOff = Listener.Push), for the general path's server.
type Listener struct {
	addr   net.Addr
	mu     sync.Mutex
	conns  []net.Conn    // guarded by mu
	shut   bool          // Close was called; guarded by mu
	ready  chan struct{} // poked when conns grows
	closed chan struct{}
	once   sync.Once
}

// NewListener returns a Listener reporting addr as its address.
func NewListener(addr net.Addr) *Listener {
	return &Listener{addr: addr, ready: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Push queues c for Accept; after Close it closes c instead. It never
// blocks.
func (ln *Listener) Push(c net.Conn) {
	ln.mu.Lock()
	if ln.shut {
		ln.mu.Unlock()
		_ = c.Close()
		return
	}
	ln.conns = append(ln.conns, c)
	ln.mu.Unlock()
	select {
	case ln.ready <- struct{}{}:
	default:
	}
}

// Accept returns the next handed-off connection.
func (ln *Listener) Accept() (net.Conn, error) {
	for {
		ln.mu.Lock()
		if len(ln.conns) > 0 {
			c := ln.conns[0]
			ln.conns = ln.conns[1:]
			ln.mu.Unlock()
			return c, nil
		}
		ln.mu.Unlock()
		select {
		case <-ln.ready:
		case <-ln.closed:
			return nil, net.ErrClosed
		}
	}
}

// Close makes Accept fail and closes the connections not yet accepted.
func (ln *Listener) Close() error {
	ln.once.Do(func() {
		close(ln.closed)
		ln.mu.Lock()
		ln.shut = true
		for _, c := range ln.conns {
			_ = c.Close()
		}
		ln.conns = nil
		ln.mu.Unlock()
	})
	return nil
}

func (ln *Listener) Addr() net.Addr { return ln.addr }
