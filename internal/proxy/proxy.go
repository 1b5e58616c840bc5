// Package proxy is the reverse proxy hot path shared by `ebb run` (the shim
// in front of one app) and `ebb up` (the platform router in front of many
// replicas).
//
// Forward proxies one request to one upstream on loopback and classifies
// failures so that a caller can retry a request on another upstream exactly
// when the request cannot have been processed (see ErrNotSent and
// ErrDrained).
package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// ErrNotSent is returned by Forward when the request cannot have reached the
// upstream: the dial was refused, or the connection failed before any byte
// of the request was written. Nothing was written to the client; the caller
// may retry the request on another upstream.
var ErrNotSent = errors.New("proxy: request not sent to upstream")

// ErrDrained is returned by Forward when the upstream answered 503 with the
// graceful.DrainHeader marker: it is draining (or its queue is full) and did
// not process the request. Nothing was written to the client; the caller may
// retry the request on another upstream.
var ErrDrained = errors.New("proxy: upstream is draining")

// Options tunes a Proxy. The zero value is usable.
type Options struct {
	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// per upstream address. Zero means 256.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes upstream connections idle for longer. Zero
	// means 90 seconds.
	IdleConnTimeout time.Duration
	// DialTimeout bounds connecting to an upstream. Zero means 5 seconds.
	DialTimeout time.Duration
	// RequestID, when true, adds an X-Request-Id header to requests that
	// have none (also to r.Header, so a retry keeps the same id), passes it
	// to the upstream and returns it in the response.
	RequestID bool
	// MaxReplayBody is the largest request body that Forward keeps so that a
	// request answered with ErrNotSent or ErrDrained can be retried. Zero
	// means 64 KiB; negative disables buffering (bodies are then not
	// replayable once read).
	MaxReplayBody int64
}

// Proxy forwards requests to upstreams. It is safe for concurrent use.
type Proxy struct {
	opts Options
	tr   *http.Transport
}

// New returns a Proxy tuned by o.
func New(o Options) *Proxy {
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxReplayBody == 0 {
		o.MaxReplayBody = 64 << 10
	}
	d := &net.Dialer{Timeout: o.DialTimeout}
	return &Proxy{
		opts: o,
		tr: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: o.MaxIdleConnsPerHost,
			IdleConnTimeout:     o.IdleConnTimeout,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// Close closes idle upstream connections. Requests in flight are not
// affected; the Proxy stays usable.
func (p *Proxy) Close() { p.tr.CloseIdleConnections() }

// Forward proxies r to the upstream at addr (host:port, e.g.
// "127.0.0.1:40123").
//
// It returns nil when a response (any status) was written to w.
//
// It returns an error wrapping ErrNotSent or ErrDrained, without having
// written anything to w, when the upstream cannot have processed the
// request; the caller may then call Forward again with the same r and
// another addr (bodies up to Options.MaxReplayBody are replayed).
//
// Any other error is not retryable; Forward has then already answered the
// client: 504 Gateway Timeout when r.Context() ended before the response
// headers arrived because of a deadline, 502 Bad Gateway when the upstream
// failed (for example it died mid-request). When the response headers had
// already been sent, Forward aborts the client connection (by panicking
// with http.ErrAbortHandler) so that the client sees a truncated response.
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request, addr string) error {
	ctx := r.Context()
	out := r.Clone(ctx)
	out.URL.Scheme = "http"
	out.URL.Host = addr
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	removeHopHeaders(out.Header)
	if p.opts.RequestID && r.Header.Get("X-Request-Id") == "" {
		id := newRequestID()
		r.Header.Set("X-Request-Id", id)
		out.Header.Set("X-Request-Id", id)
	}
	setForwarded(out.Header, r)

	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return errors.Join(ErrNotSent, err)
		}
		return p.fail(w, r, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(graceful.DrainHeader) != "" {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return ErrDrained
	}
	removeHopHeaders(resp.Header)
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if id := r.Header.Get("X-Request-Id"); id != "" && p.opts.RequestID {
		h.Set("X-Request-Id", id)
	}
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			_ = rc.Flush()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			panic(http.ErrAbortHandler)
		}
	}
	for k, v := range resp.Trailer {
		h[http.TrailerPrefix+k] = v
	}
	return nil
}

func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		w.WriteHeader(http.StatusGatewayTimeout)
		return err
	}
	w.WriteHeader(http.StatusBadGateway)
	return err
}
