// Package proxy is the reverse proxy hot path shared by `ebb run` (the shim
// in front of one app) and `ebb up` (the platform router in front of many
// replicas).
//
// Forward proxies one request to one HTTP/1.1 upstream on loopback with a
// purpose-built client: keep-alive connections pooled per address, the
// request head written straight from the incoming request (no outgoing
// http.Request, no header map copies), the response head parsed with one
// allocation, bodies streamed through the connection's own buffer. It
// classifies failures so that a caller can retry a request on another
// upstream exactly when the request cannot have been processed (see
// ErrNotSent and ErrDrained).
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ErrNotSent is returned (wrapped) by Forward when the request cannot have
// reached the upstream: the dial failed (refused, for example), or every
// connection tried failed before any byte of the request was written.
// Nothing was written to the client; the caller may retry the request on
// another upstream.
var ErrNotSent = errors.New("request not sent to upstream")

// ErrDrained is returned (wrapped) by Forward when the upstream answered 503
// with the graceful.DrainHeader marker: it is draining (or its queue is
// full) and did not process the request. Nothing was written to the client;
// the caller may retry the request on another upstream.
var ErrDrained = errors.New("upstream is draining")

// Retryable reports whether err, returned by Forward, allows the request to
// be sent again to another upstream.
func Retryable(err error) bool {
	return errors.Is(err, ErrNotSent) || errors.Is(err, ErrDrained)
}

// Options tunes a Proxy. The zero value is usable.
type Options struct {
	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// per upstream address. Zero means 256.
	MaxIdleConnsPerHost int
	// IdleConnTimeout: an idle upstream connection older than this is
	// closed instead of reused. Zero means 60 seconds.
	IdleConnTimeout time.Duration
	// StaleCheckAfter: a pooled connection idle for at least this long is
	// checked (one non-blocking recv(MSG_PEEK) system call) before it is
	// reused, so that one the upstream closed (it died, or timed the
	// connection out) is skipped and the request goes to a new connection,
	// or fails with ErrNotSent when the upstream is gone. Zero (the default)
	// checks every reuse: a replica killed under load must not cost the
	// requests that were about to be sent to it. A positive value saves the
	// system call for connections used more recently, trusting that
	// upstreams only close connections idle for longer (uvicorn 5 s,
	// gunicorn 2 s, Node 5 s); a request sent on a connection that then
	// turns out closed is resent when idempotent (see Forward), else
	// answered 502.
	StaleCheckAfter time.Duration
	// DialTimeout bounds connecting to an upstream (besides r.Context()).
	// Zero means 5 seconds.
	DialTimeout time.Duration
	// RequestID, when true, gives requests without an X-Request-Id header a
	// fresh one. It is also set on r.Header, so that a retry and the
	// caller's logs carry the same id. The id (fresh or received) is sent to
	// the upstream and returned in the response unless the upstream set its
	// own.
	RequestID bool
	// MaxReplayBody is the largest request body (with a Content-Length)
	// that Forward reads in full before sending, so that a request answered
	// with ErrNotSent or ErrDrained can be sent again. Larger and chunked
	// bodies are streamed; once a byte of one was sent a drain 503 is
	// passed to the client instead of returning ErrDrained. Zero means
	// 64 KiB; negative disables it.
	MaxReplayBody int64
}

// Proxy forwards requests to upstreams. It is safe for concurrent use. The
// zero value is not usable; call New.
type Proxy struct {
	opts Options
	pool pool
	bufs sync.Pool // *[]byte of bufSize, for request bodies
}

const bufSize = 32 << 10

// New returns a Proxy tuned by o.
func New(o Options) *Proxy {
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 60 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxReplayBody == 0 {
		o.MaxReplayBody = 64 << 10
	}
	p := &Proxy{opts: o}
	p.pool.maxIdle = o.MaxIdleConnsPerHost
	p.pool.idleTimeout = o.IdleConnTimeout
	p.pool.checkAfter = max(o.StaleCheckAfter, 0)
	p.pool.dialer.Timeout = o.DialTimeout
	p.pool.dialer.KeepAlive = -1 // loopback: TCP keep-alive probes only cost
	p.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	return p
}

// Close closes idle upstream connections. Requests in flight are not
// affected and the Proxy stays usable.
func (p *Proxy) Close() { p.pool.closeIdle() }

// CloseIdle closes the idle connections to one upstream address and forgets
// the address; connections still serving requests to it are closed when
// those end. Call it when that upstream goes away so that descriptors do
// not linger. Later requests to addr open new connections.
func (p *Proxy) CloseIdle(addr string) {
	if h, ok := p.pool.hosts.LoadAndDelete(addr); ok {
		h := h.(*hostPool)
		h.mu.Lock()
		idle := h.idle
		h.idle = nil
		h.removed = true
		h.mu.Unlock()
		for _, c := range idle {
			c.close()
		}
	}
}

// maxAttempts bounds how many connections Forward tries for one request
// when pooled connections turn out to be closed by the upstream.
const maxAttempts = 3

// Forward proxies r to the upstream at addr (host:port on loopback, e.g.
// "127.0.0.1:40123") over HTTP/1.1.
//
// It returns nil when a response (any status) was written to w.
//
// It returns an error wrapping ErrNotSent or ErrDrained (see Retryable),
// without having written anything to w, when the upstream cannot have
// processed the request; the caller may then call Forward again with the
// same r and another addr. Requests without a body and with a body of up to
// Options.MaxReplayBody bytes can be retried; r.Body is replaced so that it
// reads the same bytes again.
//
// A pooled connection that the upstream closed while idle is detected and
// skipped (see Options.StaleCheckAfter); if one fails after the request was
// written but before any byte of a response, an idempotent request (GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE, or one with an Idempotency-Key header)
// without a body or with a replayable one is sent again on a new connection
// to the same addr. If that fails too, Forward answers 502 and the error is
// not retryable: the first attempt may have been processed.
//
// Any other error is not retryable, and Forward has already answered the
// client: when r.Context() ends before the response head arrived, 504
// Gateway Timeout if it ended by a deadline (context.DeadlineExceeded as
// its error or cause), else 502 Bad Gateway; when the upstream fails (it
// closed or reset the connection, or sent a malformed response) before the
// head arrived, 502 Bad Gateway. When the head was already sent, Forward
// aborts the client connection (hijack and close, or
// panic(http.ErrAbortHandler) when w cannot be hijacked) so the client sees
// a truncated response rather than a complete-looking one.
//
// Streaming responses are flushed to the client whenever the upstream
// pauses. A protocol upgrade (WebSocket) answered with 101 becomes a
// tunnel; Forward returns only when both directions have closed or
// r.Context() ends.
//
// r.Header must hold valid header fields, as net/http's server guarantees.
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request, addr string) error {
	ctx := r.Context()
	if p.opts.RequestID && len(r.Header["X-Request-Id"]) == 0 {
		r.Header["X-Request-Id"] = []string{newRequestID()}
	}

	// Body framing: none, small (read whole, replayable), or streamed.
	var bodyLen int64
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if hasBody {
		bodyLen = r.ContentLength // -1: unknown length, sent chunked
	}
	var small []byte
	var smallBuf *[]byte
	if hasBody && bodyLen > 0 && bodyLen <= p.opts.MaxReplayBody {
		if bodyLen <= bufSize {
			smallBuf = p.bufs.Get().(*[]byte)
			small = (*smallBuf)[:bodyLen]
		} else {
			small = make([]byte, bodyLen)
		}
		if _, err := io.ReadFull(r.Body, small); err != nil {
			p.putBuf(smallBuf)
			http.Error(w, "reading the request body failed", http.StatusBadRequest)
			return fmt.Errorf("proxy: read request body: %w", err)
		}
	}
	streamed := hasBody && small == nil
	upgrade := ""
	if !hasBody {
		upgrade = upgradeType(r.Header)
	}

	h := p.pool.host(addr)
	var sentErr error // non-nil once an attempt may have reached the upstream
	for attempt := 1; ; attempt++ {
		var c *conn
		if attempt < maxAttempts {
			c = h.get(time.Now())
		}
		if c == nil {
			var err error
			c, err = h.dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					p.putBuf(smallBuf)
					return p.failCtx(w, r, addr, err)
				}
				if sentErr != nil {
					p.putBuf(smallBuf)
					p.writeError(w, r, http.StatusBadGateway)
					return fmt.Errorf("proxy: %s: read response head: %w (and again: dial: %w)", addr, sentErr, err)
				}
				keepBody(r, small)
				return fmt.Errorf("proxy: dial %s: %w: %w", addr, ErrNotSent, err)
			}
		}
		res := p.roundTrip(w, r, c, bodyLen, small, streamed, upgrade, attempt)
		switch res.outcome {
		case outcomeRetry:
			continue
		case outcomeRetrySent:
			sentErr = res.err
			continue
		case outcomeNotSent:
			if sentErr != nil {
				p.putBuf(smallBuf)
				p.writeError(w, r, http.StatusBadGateway)
				return fmt.Errorf("proxy: %s: read response head: %w (and again: %w)", addr, sentErr, res.err)
			}
			keepBody(r, small)
			return fmt.Errorf("proxy: send to %s: %w: %w", addr, ErrNotSent, res.err)
		case outcomeDrained:
			keepBody(r, small)
			return fmt.Errorf("proxy: %s: %w", addr, ErrDrained)
		case outcomeCtx:
			p.putBuf(smallBuf)
			return p.failCtx(w, r, addr, res.err)
		case outcomeBadGateway:
			p.putBuf(smallBuf)
			p.writeError(w, r, http.StatusBadGateway)
			return fmt.Errorf("proxy: %s: %w", addr, res.err)
		default: // outcomeDone
			p.putBuf(smallBuf)
			if res.err != nil {
				return fmt.Errorf("proxy: %s: %w", addr, res.err)
			}
			return nil
		}
	}
}

// outcome is how one attempt on one connection ended.
type outcome int

const (
	outcomeDone       outcome = iota // a response was written (err: it was cut short)
	outcomeRetry                     // try again on another connection
	outcomeRetrySent                 // try again, but the request may have been processed
	outcomeNotSent                   // nothing reached the upstream
	outcomeDrained                   // drain 503, nothing written
	outcomeCtx                       // r.Context() ended before the response head
	outcomeBadGateway                // upstream failed before the response head
)

type result struct {
	outcome outcome
	err     error
}

// roundTrip sends r on c and relays the response. It owns c: it either
// returns it to its pool or closes it.
func (p *Proxy) roundTrip(w http.ResponseWriter, r *http.Request, c *conn, bodyLen int64,
	small []byte, streamed bool, upgrade string, attempt int) result {
	ctx := r.Context()
	c.written = 0
	stop := context.AfterFunc(ctx, c.interruptFn)

	ob := outBuf{c.out[:0]}
	writeRequestHead(&ob, r, bodyLen, upgrade)
	if small != nil {
		ob.Write(small)
	}
	if cap(ob.b) <= 2*connWriteBuf {
		c.out = ob.b // keep the grown buffer unless a large body grew it
	}
	if streamed {
		// The head goes out now; the body follows from its own goroutine.
		if err := c.writeAll(ob.b); err != nil {
			stop()
			return p.sendFailed(c, ctx, attempt, err)
		}
	} else {
		// Written by the first read of the response (see connReader).
		c.pending = ob.b
	}

	var bw *bodyWriter
	if streamed {
		bw = startBodyWriter(w, r, c, bodyLen, p)
	}

	head := &c.head
	for {
		read, err := readResponseHead(c.br, head)
		if err != nil && !streamed && c.written == 0 {
			// The request did not go out (a partial write leaves
			// written > 0; every read of the head empties pending).
			c.pending = nil
			stop()
			return p.sendFailed(c, ctx, attempt, err)
		}
		if err != nil {
			bw.abort()
			stop()
			c.close()
			if ctx.Err() != nil {
				return result{outcomeCtx, err}
			}
			if !read && c.reused && !streamed && idempotent(r) && attempt < maxAttempts {
				// Most likely the upstream closed the idle connection as
				// the request went out; it may also have died processing
				// it, so what follows is no longer "not sent".
				return result{outcome: outcomeRetrySent, err: err}
			}
			return result{outcomeBadGateway, fmt.Errorf("read response head: %w", err)}
		}
		if head.status >= 200 || head.status == http.StatusSwitchingProtocols {
			break
		}
		// 1xx informational (100 Continue, 103 Early Hints): skip.
	}

	if head.status == http.StatusSwitchingProtocols {
		if upgrade == "" {
			bw.abort()
			stop()
			c.close()
			return result{outcomeBadGateway, errors.New("unsolicited 101 Switching Protocols")}
		}
		stop()
		return result{outcomeDone, p.tunnel(w, r, c, head)}
	}

	if head.drain && head.status == http.StatusServiceUnavailable && !streamed {
		// Not processed: discard the (small) body and report it.
		reusable := head.keepAlive && p.discardBody(c, head, r.Method)
		if stop() && reusable {
			c.host.put(c, time.Now())
		} else {
			c.close()
		}
		return result{outcome: outcomeDrained}
	}

	// Relay the response head.
	wh := w.Header()
	bodyless := head.bodyless(r.Method)
	head.copyTo(wh, head.contentLength >= 0 && (!bodyless || r.Method == "HEAD"))
	if !head.hasReqID {
		if id := r.Header["X-Request-Id"]; len(id) > 0 {
			wh["X-Request-Id"] = id[:1:1]
		}
	}
	w.WriteHeader(head.status)

	// Relay the body.
	bc := bodyCopier{w: w, br: c.br}
	var err error
	complete := true
	switch {
	case bodyless:
	case head.contentLength >= 0:
		err = bc.copyN(head.contentLength)
	case head.chunked:
		err = bc.copyChunked()
	default:
		err = bc.copyToEOF()
		complete = false // delimited by close
	}
	if err == nil && bc.dirty && (head.chunked || !complete) {
		// A streamed response ended: make sure the last piece goes out
		// even if the caller keeps the handler busy.
		_ = flush(w)
	}
	bodyErr := bw.finish(err == nil)
	stopped := stop()
	if err != nil {
		c.close()
		if bc.wErr != nil {
			return result{outcomeDone, fmt.Errorf("write response body: %w", bc.wErr)}
		}
		abortClient(w)
		if ctx.Err() != nil {
			return result{outcomeDone, fmt.Errorf("response body cut short: %w", context.Cause(ctx))}
		}
		return result{outcomeDone, fmt.Errorf("read response body: %w", err)}
	}
	if complete && head.keepAlive && stopped && bodyErr == nil {
		c.host.put(c, time.Now())
	} else {
		c.close()
	}
	return result{outcome: outcomeDone}
}

// sendFailed handles a failure to write the request on c, which it closes.
func (p *Proxy) sendFailed(c *conn, ctx context.Context, attempt int, err error) result {
	c.close()
	if ctx.Err() != nil {
		return result{outcomeCtx, err}
	}
	if c.written == 0 {
		if c.reused && attempt < maxAttempts {
			return result{outcome: outcomeRetry}
		}
		return result{outcomeNotSent, err}
	}
	return result{outcomeBadGateway, fmt.Errorf("write request: %w", err)}
}

// discardBody reads and drops a small response body so the connection can
// be reused; it reports whether that succeeded.
func (p *Proxy) discardBody(c *conn, head *responseHead, method string) bool {
	switch {
	case head.bodyless(method):
		return true
	case head.contentLength >= 0 && head.contentLength <= int64(c.br.Size()):
		_, err := c.br.Discard(int(head.contentLength))
		return err == nil
	}
	return false
}

// keepBody makes r.Body read small again after an attempt that did not
// process the request. A pooled buffer holding small now belongs to r.Body;
// the pool allocates a new one.
func keepBody(r *http.Request, small []byte) {
	if small != nil {
		r.Body = io.NopCloser(bytes.NewReader(small))
	}
}

func (p *Proxy) putBuf(b *[]byte) {
	if b != nil {
		p.bufs.Put(b)
	}
}

// failCtx answers a request whose context ended before the response head:
// 504 when a deadline ended it, 502 otherwise.
func (p *Proxy) failCtx(w http.ResponseWriter, r *http.Request, addr string, err error) error {
	ctx := r.Context()
	code := http.StatusBadGateway
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
	}
	p.writeError(w, r, code)
	return fmt.Errorf("proxy: %s: %w (%w)", addr, context.Cause(ctx), err)
}

// writeError answers the client with a bare error status.
func (p *Proxy) writeError(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	if id := r.Header["X-Request-Id"]; len(id) > 0 {
		h["X-Request-Id"] = id[:1:1]
	}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code)+"\n")
}

// abortClient cuts the client connection so that a response whose head was
// already sent is seen as truncated.
func abortClient(w http.ResponseWriter) {
	nc, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = nc.Close()
}

// idempotent reports whether r may be sent twice (RFC 9110 §9.2.2, or an
// Idempotency-Key header).
func idempotent(r *http.Request) bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return len(r.Header["Idempotency-Key"]) > 0 || len(r.Header["X-Idempotency-Key"]) > 0
}

// upgradeType returns the protocol a request asks to upgrade to, or "".
func upgradeType(h http.Header) string {
	up := h["Upgrade"]
	if len(up) == 0 || !namedBy(h["Connection"], "upgrade") {
		return ""
	}
	return up[0]
}
