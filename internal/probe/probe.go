// Package probe checks whether an app listening on an address is ready or
// healthy: an HTTP GET that must answer 200, or a TCP connect when no path
// is configured.
//
// A Prober performs one check. WaitReady polls a Prober until it passes,
// fast at first so that a cold start is noticed within milliseconds, and
// Monitor checks periodically and reports changes.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultTimeout bounds one check when Prober.Timeout is zero.
const DefaultTimeout = time.Second

// Prober checks one address. Addr is required. A Prober is safe for
// concurrent use provided its fields are not changed after the first Check;
// it must not be copied after first use.
type Prober struct {
	// Addr is the host:port to check, e.g. "127.0.0.1:8123".
	Addr string
	// Path is the HTTP path to GET, e.g. "/ready"; the check passes only on
	// status 200. Empty means a TCP check: it passes when a connection is
	// accepted.
	Path string
	// Timeout bounds one check. Zero means DefaultTimeout.
	Timeout time.Duration
	// Client sends HTTP checks. Nil means a client private to this Prober
	// that keeps one idle connection, so repeated checks do not pile up
	// sockets in TIME_WAIT.
	Client *http.Client

	once sync.Once
	own  *http.Client
}

// ErrNotReady is wrapped by Check when the app answered with a status other
// than 200.
var ErrNotReady = errors.New("probe: not ready")

// Check performs one check and returns nil when it passes. A failure names
// the address and path and wraps the cause (a connection error, ErrNotReady,
// or the context's error).
func (p *Prober) Check(ctx context.Context) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p.Path == "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", p.Addr)
		if err != nil {
			return fmt.Errorf("probe: tcp %s: %w", p.Addr, err)
		}
		return c.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+p.Path, nil)
	if err != nil {
		return fmt.Errorf("probe: GET %s%s: %w", p.Addr, p.Path, err)
	}
	req.Header.Set("User-Agent", "ebb-probe")
	resp, err := p.client().Do(req)
	if err != nil {
		return fmt.Errorf("probe: GET %s%s: %w", p.Addr, p.Path, err)
	}
	// Drain a little so the connection can be reused, never much.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: GET %s%s: status %d: %w", p.Addr, p.Path, resp.StatusCode, ErrNotReady)
	}
	return nil
}

func (p *Prober) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	p.once.Do(func() {
		p.own = &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     5 * time.Second,
			DisableCompression:  true,
		}}
	})
	return p.own
}

// Close releases the idle connections of the Prober's own client. Call it
// when the Prober is no longer used.
func (p *Prober) Close() {
	p.once.Do(func() {})
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}
