package churn

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mix is how many load workers send each kind of request to the hello app,
// each in a loop until the load stops.
type Mix struct {
	Hello, Slow, Stream int
	// Long is the length in seconds of each /slow and /stream request.
	Long float64
}

// load is a closed-loop load generator that counts what failed.
type load struct {
	client       *http.Client
	sent, failed atomic.Int64
	stopc        chan struct{}
	wg           sync.WaitGroup
	mu           sync.Mutex
	failures     []string
}

func newLoad() *load {
	return &load{
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}, Timeout: 60 * time.Second},
		stopc:  make(chan struct{}),
	}
}

// record counts one request and its error, if any.
func (l *load) record(err error) {
	l.sent.Add(1)
	if err == nil {
		return
	}
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 20 {
		l.failures = append(l.failures, time.Now().UTC().Format("15:04:05.000")+" "+err.Error())
	}
	l.mu.Unlock()
}

// once sends n requests of fn at the same time and returns when all are
// answered.
func (l *load) once(n int, fn func(*http.Client) error) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { l.record(fn(l.client)) })
	}
	wg.Wait()
}

// start runs the workers of mix against base until stop.
func (l *load) start(base string, mix Mix) {
	kinds := []struct {
		n  int
		fn func() error
	}{
		{mix.Hello, func() error { return Hello(l.client, base) }},
		{mix.Slow, func() error { return Slow(l.client, base, mix.Long) }},
		{mix.Stream, func() error { return Stream(l.client, base, mix.Long) }},
	}
	for _, k := range kinds {
		for range k.n {
			l.wg.Go(func() {
				for {
					select {
					case <-l.stopc:
						return
					default:
					}
					l.record(k.fn())
				}
			})
		}
	}
}

// stop ends the workers after their current request and waits for them.
func (l *load) stop() {
	select {
	case <-l.stopc:
	default:
		close(l.stopc)
	}
	l.wg.Wait()
}

// Hello sends POST /hello and checks the greeting.
func Hello(c *http.Client, base string) error {
	resp, err := c.Post(base+"/hello", "application/json", strings.NewReader(`{}`))
	if err != nil {
		return fmt.Errorf("POST /hello: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello Cerebrium!") {
		return fmt.Errorf("POST /hello: %d %q %v", resp.StatusCode, body, err)
	}
	return nil
}

// Slow sends GET /slow, which answers after secs seconds.
func Slow(c *http.Client, base string, secs float64) error {
	resp, err := c.Get(fmt.Sprintf("%s/slow?seconds=%g", base, secs))
	if err != nil {
		return fmt.Errorf("GET /slow: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /slow: %d %q %v", resp.StatusCode, body, err)
	}
	return nil
}

// Stream sends GET /stream and reads the event stream to its done event.
func Stream(c *http.Client, base string, secs float64) error {
	resp, err := c.Get(fmt.Sprintf("%s/stream?seconds=%g", base, secs))
	if err != nil {
		return fmt.Errorf("GET /stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET /stream: %d %q", resp.StatusCode, body)
	}
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		if sc.Text() == "event: done" {
			done = true
		}
	}
	if !done {
		return fmt.Errorf("GET /stream: stream ended without its done event (%v)", sc.Err())
	}
	return nil
}
