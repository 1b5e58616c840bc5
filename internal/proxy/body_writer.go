package proxy

import (
	"io"
	"net/http"
	"time"
)

// finishGrace is how long, after the response ended, Forward waits for a
// streamed request body to finish by itself before cutting it off.
const finishGrace = 50 * time.Millisecond

// bodyWriter streams a large or chunked request body to the upstream while
// Forward reads the response (full duplex), so that an upstream that
// answers while still reading (an echo, an early 413) never deadlocks with
// us. Its goroutine is owned by Forward: finish or abort waits for it.
// A nil *bodyWriter means no body is being streamed; its methods are no-ops.
type bodyWriter struct {
	w    http.ResponseWriter
	c    *conn
	done chan error
	err  error
	// ended is true once done was received.
	ended bool
}

// trackedReader remembers the error of the client body, to tell it apart
// from a failure to write to the upstream.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

func startBodyWriter(w http.ResponseWriter, r *http.Request, c *conn, bodyLen int64, p *Proxy) *bodyWriter {
	// Let the handler read the request while writing the response; without
	// this the HTTP/1 server discards the unread body when the response
	// head is written.
	_ = http.NewResponseController(w).EnableFullDuplex()
	b := &bodyWriter{w: w, c: c, done: make(chan error, 1)}
	go b.run(r, bodyLen, p)
	return b
}

func (b *bodyWriter) run(r *http.Request, bodyLen int64, p *Proxy) {
	bufp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bufp)
	tr := &trackedReader{r: r.Body}
	var err error
	if bodyLen < 0 {
		err = writeChunked(b.c.writer(), tr, r.Trailer, *bufp)
	} else {
		err = writeFixed(b.c.writer(), tr, bodyLen, *bufp)
	}
	if tr.err != nil || err == io.ErrUnexpectedEOF {
		// The client's body failed: the upstream must not take what it got
		// for a complete request. Cut the connection; the response read
		// fails with it.
		b.c.interrupt()
	}
	b.done <- err
}

// wait blocks until the goroutine ended.
func (b *bodyWriter) wait() error {
	if !b.ended {
		b.err = <-b.done
		b.ended = true
	}
	return b.err
}

// unblock makes a goroutine stuck reading the client or writing the
// upstream return.
func (b *bodyWriter) unblock() {
	_ = http.NewResponseController(b.w).SetReadDeadline(aLongTimeAgo)
	b.c.interrupt()
}

// abort stops the body writer after the exchange failed.
func (b *bodyWriter) abort() {
	if b == nil {
		return
	}
	b.unblock()
	_ = b.wait()
}

// finish waits for the body writer after the response ended (ok: the
// response was relayed in full). An upstream that answered before reading
// the whole body gets finishGrace for the rest to be sent; then the body is
// cut off and an error returned, so the connection is not reused.
func (b *bodyWriter) finish(ok bool) error {
	if b == nil {
		return nil
	}
	if !ok {
		b.abort()
		return b.err
	}
	t := time.NewTimer(finishGrace)
	defer t.Stop()
	select {
	case err := <-b.done:
		b.err, b.ended = err, true
		return err
	case <-t.C:
		b.unblock()
		if err := b.wait(); err != nil {
			return err
		}
		return errBodyCutOff
	}
}

// errBodyCutOff marks a request body that was still being sent when the
// response ended.
var errBodyCutOff = errorString("request body cut off after the response ended")

type errorString string

func (e errorString) Error() string { return string(e) }
