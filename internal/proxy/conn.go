package proxy

import (
	"bufio"
	"io"
	"net"
	"os"
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
//
// The request head (and a small body) is assembled in out and handed to the
// socket by the first read of the response (see connReader): one write,
// then a wait for the answer, then one read, with no read attempted before
// the upstream could have answered.
type conn struct {
	nc   net.Conn
	raw  syscall.RawConn // nil when nc is not a TCP or Unix socket
	br   *bufio.Reader
	bw   *bufio.Writer // for streamed request bodies; created when needed
	host *hostPool

	// out is the request being assembled; pending is what of it is still
	// to be written.
	out     []byte
	pending []byte
	// rp, rn and rerr carry the arguments and results of sendRecvFn.
	rp   []byte
	rn   int
	rerr error
	// sendRecvFn is c.sendRecv, bound once (no closure per request).
	sendRecvFn func(fd uintptr) bool

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
	c.br = bufio.NewReaderSize(connReader{c}, connReadBuf)
	c.out = make([]byte, 0, connWriteBuf)
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.interruptFn = c.interrupt
	c.peekFn = c.peek
	c.sendRecvFn = c.sendRecv
	return c
}

// writer returns the buffered writer used to stream a request body.
func (c *conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = bufio.NewWriterSize(countingWriter{c}, connWriteBuf)
	}
	return c.bw
}

// writeAll writes b to the connection, counting what was written.
func (c *conn) writeAll(b []byte) error {
	_, err := countingWriter{c}.Write(b)
	return err
}

// connReader is the source of a conn's read buffer. When a request is
// pending, its Read writes it and then waits for the socket to become
// readable before reading, inside one RawConn.Read: this saves the read
// system call that would otherwise fail with EAGAIN right after the write,
// and the scheduler round trip that goes with it.
type connReader struct{ c *conn }

// errPartialWrite: the socket took only part of the pending request.
var errPartialWrite = errorString("partial write")

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if len(c.pending) == 0 {
		return c.nc.Read(p)
	}
	if c.raw != nil {
		c.rp, c.rn, c.rerr = p, 0, nil
		err := c.raw.Read(c.sendRecvFn)
		c.rp = nil
		if err != nil {
			c.pending = nil
			return 0, err
		}
		if c.rerr != errPartialWrite {
			return c.rn, c.rerr
		}
	}
	// No raw access, or the socket buffer is full: write the rest the
	// ordinary way.
	err := c.writeAll(c.pending)
	c.pending = nil
	if err != nil {
		return 0, err
	}
	return c.nc.Read(p)
}

// sendRecv runs inside RawConn.Read: first it writes the pending request
// and returns false (wait until readable); called again once the socket is
// readable, it reads into c.rp.
func (c *conn) sendRecv(fd uintptr) bool {
	for len(c.pending) > 0 {
		n, err := syscall.Write(int(fd), c.pending)
		if n > 0 {
			c.written += int64(n)
			c.pending = c.pending[n:]
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.rerr = errPartialWrite
			return true
		case err != nil:
			c.pending = nil
			c.rerr = os.NewSyscallError("write", err)
			return true
		}
		if len(c.pending) == 0 {
			return false // sent: wait for the answer
		}
	}
	for {
		n, err := syscall.Read(int(fd), c.rp)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.rerr = os.NewSyscallError("read", err)
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rn = n
		}
		return true
	}
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
