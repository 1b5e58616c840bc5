//go:build linux

package evloop

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/limiter"
)

// policy is a Policy whose verdict a test sets; it records Done calls.
type policy struct {
	mu      sync.Mutex
	verdict Verdict
	reply   *Reply
	probe   *Reply // nil: probes are forwarded; guarded by mu
	codes   []int
	noKeep  atomic.Bool
	arrived atomic.Int64
}

func (p *policy) Admit(st Stage) (Verdict, *Reply) {
	if st == Arrived {
		p.arrived.Add(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st == Granted && p.verdict == Wait {
		return Forward, nil
	}
	return p.verdict, p.reply
}

func (p *policy) set(v Verdict, r *Reply) {
	p.mu.Lock()
	p.verdict, p.reply = v, r
	p.mu.Unlock()
}

func (p *policy) Probe() (Verdict, *Reply) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.probe != nil {
		return Answer, p.probe
	}
	return Forward, nil
}

func (p *policy) setProbe(r *Reply) {
	p.mu.Lock()
	p.probe = r
	p.mu.Unlock()
}

var refusedReply = NewReply(503, false, "refused\n", "X-Ebb-Drain: 1")

func (p *policy) Refused() *Reply { return refusedReply }
func (p *policy) KeepAlive() bool { return !p.noKeep.Load() }
func (p *policy) Done(code int, _ time.Duration) {
	p.mu.Lock()
	p.codes = append(p.codes, code)
	p.mu.Unlock()
}

// doneCodes waits until n requests are done and returns their codes.
func (p *policy) doneCodes(t *testing.T, n int) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		codes := append([]int(nil), p.codes...)
		p.mu.Unlock()
		if len(codes) >= n || time.Now().After(deadline) {
			if len(codes) != n {
				t.Fatalf("Done called %d times, want %d (codes %v)", len(codes), n, codes)
			}
			return codes
		}
		time.Sleep(time.Millisecond)
	}
}

// rig is a Server in front of an upstream, with a net/http server on its
// hand-offs that answers "handed off" and records what it got.
type rig struct {
	t      *testing.T
	srv    *Server
	pol    *policy
	lim    *limiter.Limiter
	addr   string
	handed chan *http.Request
	hsrv   *http.Server
}

func newRig(t *testing.T, upstream string, opts ...func(*Options)) *rig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, pol: &policy{}, lim: limiter.New(100, 100), addr: ln.Addr().String(), handed: make(chan *http.Request, 16)}
	hl := NewListener(ln.Addr())
	o := Options{
		Listener: ln.(*net.TCPListener), Upstream: upstream, Loops: 2,
		ReadyPath: "/ready", HealthPath: "/health",
		Policy: r.pol, Limiter: r.lim, QueueFull: NewReply(503, false, "queue full\n"),
		HandOff: hl.Push,
	}
	for _, f := range opts {
		f(&o)
	}
	r.lim = o.Limiter
	r.srv, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	r.hsrv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		r.handed <- req
		io.WriteString(w, "handed off:"+string(body))
	})}
	go r.hsrv.Serve(hl)
	t.Cleanup(func() {
		r.srv.Shutdown(time.Second)
		r.hsrv.Close()
	})
	return r
}

// roundTrip writes raw to a new connection and reads one response.
func (r *rig) roundTrip(raw string) (*http.Response, string) {
	r.t.Helper()
	c := r.dial()
	defer c.Close()
	return r.send(c, bufio.NewReader(c), raw)
}

func (r *rig) dial() net.Conn {
	r.t.Helper()
	c, err := net.DialTimeout("tcp", r.addr, time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func (r *rig) send(c net.Conn, br *bufio.Reader, raw string) (*http.Response, string) {
	r.t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		r.t.Fatal(err)
	}
	return readResp(r.t, br, raw)
}

func readResp(t *testing.T, br *bufio.Reader, raw string) (*http.Response, string) {
	t.Helper()
	method := raw[:strings.IndexByte(raw, ' ')]
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %q: %v", firstLine(raw), err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v", firstLine(raw), err)
	}
	return resp, string(body)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\r'); i >= 0 {
		return s[:i]
	}
	return s
}

// echo is an upstream that answers with what it received.
func echo(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for k, vs := range r.Header {
			for _, v := range vs {
				w.Header().Add("Echo-"+k, v)
			}
		}
		w.Header().Set("Echo-Host", r.Host)
		w.Header().Set("Echo-Method", r.Method)
		w.Header().Set("Echo-Uri", r.RequestURI)
		w.Header().Set("Echo-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func hostOf(s *httptest.Server) string { return s.Listener.Addr().String() }
