package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestForwardSSEFlushesEachEvent(t *testing.T) {
	p := newProxy(t, Options{})
	// The upstream sends the next event only after the client confirmed
	// it received the previous one: a proxy that buffers deadlocks here.
	got := make(chan struct{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 5; i++ {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-got:
			case <-time.After(5 * time.Second):
				return
			case <-r.Context().Done():
				return
			}
		}
	})
	resp, err := client(t).Get(front(t, p, addr) + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 5; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf("data: event %d\n", i); line != want {
			t.Fatalf("event %d: %q, want %q", i, line, want)
		}
		br.ReadString('\n')
		select {
		case got <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatalf("upstream did not wait for event %d", i)
		}
	}
}

func TestForwardWebSocket(t *testing.T) {
	p := newProxy(t, Options{RequestID: true})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	})
	var inFlight atomic.Int32
	returned := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		returned <- p.Forward(w, r, addr)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	for i := 0; i < 20; i++ {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*1000))
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "echo: "+msg {
			t.Fatalf("message %d: got %d bytes", i, len(got))
		}
	}
	if n := inFlight.Load(); n != 1 {
		t.Fatalf("in flight during the tunnel = %d, want 1", n)
	}
	c.Close(websocket.StatusNormalClosure, "bye")
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("Forward after the tunnel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forward did not return after both sides closed")
	}
}

// pattern is an endless deterministic byte stream.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.n*7 + p.n>>9)
		p.n++
	}
	return len(b), nil
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

const hundredMB = 100 << 20

func TestForward100MBRequestBodyStreams(t *testing.T) {
	p := newProxy(t, Options{})
	var received atomic.Int64
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Body.Read(buf)
			h.Write(buf[:n])
			received.Add(int64(n))
			if err != nil {
				break
			}
		}
		fmt.Fprintf(w, "%d %x", received.Load(), h.Sum(nil))
	})
	// The client checks that the upstream got data before it finished
	// sending: nothing buffers the whole body.
	var sentBeforeUpstreamSaw atomic.Int64
	body := &watchReader{r: io.LimitReader(&pattern{}, hundredMB), onRead: func(sent int64) {
		if received.Load() > 0 && sentBeforeUpstreamSaw.Load() == 0 {
			sentBeforeUpstreamSaw.Store(sent)
		}
	}}
	want := sha256.New()
	io.Copy(want, io.LimitReader(&pattern{}, hundredMB))

	before := totalAlloc()
	req, _ := http.NewRequest("PUT", front(t, p, addr)+"/upload", body)
	req.ContentLength = hundredMB
	_, got := get(t, client(t), req)
	allocated := totalAlloc() - before
	if wantBody := fmt.Sprintf("%d %x", hundredMB, want.Sum(nil)); got != wantBody {
		t.Fatalf("upstream got %q, want %q", got, wantBody)
	}
	if s := sentBeforeUpstreamSaw.Load(); s == 0 || s >= hundredMB {
		t.Fatalf("upstream saw data only after %d of %d bytes were sent", s, hundredMB)
	}
	if allocated > 30<<20 {
		t.Fatalf("allocated %d MB while streaming 100 MB", allocated>>20)
	}
}

type watchReader struct {
	r      io.Reader
	sent   int64
	onRead func(sent int64)
}

func (w *watchReader) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	w.sent += int64(n)
	w.onRead(w.sent)
	return n, err
}

func TestForward100MBResponseBodyStreams(t *testing.T) {
	p := newProxy(t, Options{})
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var wrote atomic.Int64
			addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(hundredMB))
				}
				buf := make([]byte, 64<<10)
				src := io.LimitReader(&pattern{}, hundredMB)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						if _, err := w.Write(buf[:n]); err != nil {
							return
						}
						wrote.Add(int64(n))
					}
					if err != nil {
						return
					}
				}
			})
			want := sha256.New()
			io.Copy(want, io.LimitReader(&pattern{}, hundredMB))

			before := totalAlloc()
			resp, err := client(t).Get(front(t, p, addr) + "/download")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// The first bytes arrive while the upstream is far from done.
			first := make([]byte, 1<<20)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				t.Fatal(err)
			}
			if w := wrote.Load(); w >= hundredMB {
				t.Fatalf("the upstream had written everything (%d) before the client got 1 MB", w)
			}
			h := sha256.New()
			h.Write(first)
			n, err := io.Copy(h, resp.Body)
			if err != nil || n+int64(len(first)) != hundredMB {
				t.Fatalf("read %d bytes, %v", n+int64(len(first)), err)
			}
			if fmt.Sprintf("%x", h.Sum(nil)) != fmt.Sprintf("%x", want.Sum(nil)) {
				t.Fatal("body differs")
			}
			if allocated := totalAlloc() - before; allocated > 30<<20 {
				t.Fatalf("allocated %d MB while streaming 100 MB", allocated>>20)
			}
		})
	}
}

func TestForwardFullDuplexEcho(t *testing.T) {
	p := newProxy(t, Options{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(200)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	const size = 20 << 20
	req, _ := http.NewRequest("POST", front(t, p, addr)+"/echo", io.LimitReader(&pattern{}, size))
	req.ContentLength = size
	done := make(chan struct{})
	var n int64
	var err error
	go func() {
		defer close(done)
		var resp *http.Response
		resp, err = client(t).Do(req)
		if err != nil {
			return
		}
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("echo deadlocked")
	}
	if err != nil || n != size {
		t.Fatalf("echoed %d bytes, %v", n, err)
	}
}

func TestForwardUpgradeRefusedAndTunnelEndsWithContext(t *testing.T) {
	p := newProxy(t, Options{})
	addr := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			http.Error(w, "no websockets here", http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	returned := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		returned <- p.Forward(w, r.WithContext(ctx), addr)
	}))
	t.Cleanup(srv.Close)
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, resp, err := websocket.Dial(ctx, ws+"/refuse", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refused upgrade: %v %v", err, resp)
	}
	if err := <-returned; err != nil {
		t.Fatalf("Forward of a refused upgrade: %v", err)
	}

	c, _, err := websocket.Dial(ctx, ws+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the tunnel outlived its request context")
	}
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("the client connection is still open after the tunnel ended")
	}
}
