package proxy

import (
	"context"
	"net"
	"sync"
	"time"
)

// pool keeps idle keep-alive connections per upstream address.
type pool struct {
	maxIdle     int
	idleTimeout time.Duration
	checkAfter  time.Duration
	dialer      net.Dialer

	hosts sync.Map // string -> *hostPool
}

// hostPool holds the idle connections to one address, most recently used
// last (taken first: its buffers and the upstream's state are warm).
type hostPool struct {
	addr string
	p    *pool

	mu   sync.Mutex
	idle []*conn
	// removed is set when the pool was dropped by Proxy.CloseIdle:
	// connections coming back from requests in flight are closed.
	removed bool
}

func (p *pool) host(addr string) *hostPool {
	if h, ok := p.hosts.Load(addr); ok {
		return h.(*hostPool)
	}
	h, _ := p.hosts.LoadOrStore(addr, &hostPool{addr: addr, p: p})
	return h.(*hostPool)
}

// get returns an idle connection that is still alive, or nil.
func (h *hostPool) get(now time.Time) *conn {
	for {
		h.mu.Lock()
		n := len(h.idle)
		if n == 0 {
			h.mu.Unlock()
			return nil
		}
		c := h.idle[n-1]
		h.idle[n-1] = nil
		h.idle = h.idle[:n-1]
		h.mu.Unlock()
		idle := now.Sub(c.idleAt)
		if idle < h.p.idleTimeout && (idle < h.p.checkAfter || c.alive()) {
			c.reused = true
			return c
		}
		c.close()
	}
}

// dial opens a new connection.
func (h *hostPool) dial(ctx context.Context) (*conn, error) {
	nc, err := h.p.dialer.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return nil, err
	}
	return newConn(nc, h), nil
}

// put returns a healthy connection, with its response fully read, to the
// pool; it closes it when the pool is full.
func (h *hostPool) put(c *conn, now time.Time) {
	c.idleAt = now
	h.mu.Lock()
	if !h.removed && len(h.idle) < h.p.maxIdle {
		h.idle = append(h.idle, c)
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	c.close()
}

// closeIdle closes every idle connection.
func (p *pool) closeIdle() {
	p.hosts.Range(func(_, v any) bool {
		h := v.(*hostPool)
		h.mu.Lock()
		idle := h.idle
		h.idle = nil
		h.mu.Unlock()
		for _, c := range idle {
			c.close()
		}
		return true
	})
}
