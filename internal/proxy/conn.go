package proxy

import (
	"bufio"
	"net"
	"syscall"
	"time"
)

// Buffer sizes of one upstream connection. The read buffer bounds the size of
// a response head (status line and headers), like nginx's proxy_buffer_size.
const (
	connReadBuf  = 16 << 10
	connWriteBuf = 4 << 10
)

// aLongTimeAgo is a deadline in the past: setting it on a connection makes
// every blocked and future read and write on it fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one HTTP/1.1 connection to an upstream. It is used by one request
// at a time; between requests it sits idle in its hostPool.
type conn struct {
	nc   net.Conn
	raw  syscall.RawConn // nil when nc is not a TCP or Unix socket
	br   *bufio.Reader
	bw   *bufio.Writer
	host *hostPool

	// written counts bytes written to nc during the current request; zero
	// after a failure means the upstream cannot have seen the request.
	written int64
	// reused is true when the connection served an earlier request.
	reused bool
	// idleAt is when the connection was last put back into the pool.
	idleAt time.Time
	// head is the storage of the current response head.
	head responseHead

	// interruptFn is c.interrupt, bound once so that registering it with
	// context.AfterFunc allocates no closure per request.
	interruptFn func()
	// peekFn and the peek* fields implement alive without allocating.
	peekFn  func(fd uintptr) bool
	peekBuf [1]byte
	peekN   int
	peekErr error
}

func newConn(nc net.Conn, host *hostPool) *conn {
	c := &conn{nc: nc, host: host}
	c.br = bufio.NewReaderSize(nc, connReadBuf)
	c.bw = bufio.NewWriterSize(countingWriter{c}, connWriteBuf)
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.interruptFn = c.interrupt
	c.peekFn = c.peek
	return c
}

// countingWriter writes to the connection and counts what the kernel took.
type countingWriter struct{ c *conn }

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	w.c.written += int64(n)
	return n, err
}

// interrupt makes every blocked read and write on the connection fail. It is
// called from context.AfterFunc when a request's context ends.
func (c *conn) interrupt() { _ = c.nc.SetDeadline(aLongTimeAgo) }

// alive reports whether an idle connection can still carry a request: the
// upstream has not closed it (EOF pending) and has sent nothing unsolicited.
// It costs one non-blocking recv(MSG_PEEK) system call.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // bytes arrived while idle: the stream is out of sync
	}
	if c.raw == nil {
		return true
	}
	c.peekN, c.peekErr = 0, nil
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	if c.peekErr == syscall.EAGAIN {
		return true
	}
	return false // EOF (n == 0), unexpected data (n > 0) or an error
}

func (c *conn) peek(fd uintptr) bool {
	n, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.peekN, c.peekErr = n, err
	return true
}

// close closes the connection for good.
func (c *conn) close() { _ = c.nc.Close() }
