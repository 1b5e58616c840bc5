package platform

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ebb-run/ebb/internal/proxy"
)

// TestRouterQueueFullAnswers503 fills the only slot and the queue; the
// next request is refused at once with 503 and Retry-After, and the queued
// one is served when the slot frees up.
func TestRouterQueueFullAnswers503(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer up.Close()
	a := testApp(t, 1, 1, "", strings.TrimPrefix(up.URL, "http://"))
	a.queue.max = 1
	rt := &router{p: a.p, proxy: proxy.New(proxy.Options{})}
	srv := httptest.NewServer(rt)
	defer srv.Close()

	codes := make(chan string, 2)
	get := func(path string) {
		resp, err := http.Get(srv.URL + "/app" + path)
		if err != nil {
			codes <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes <- resp.Status + " " + string(body)
	}
	go get("/block")
	waitUntil(t, func() bool { return a.replicasForTest()[0].InFlight() == 1 })
	go get("/queued")
	waitUntil(t, func() bool { return a.Queued() == 1 })

	start := time.Now()
	resp, err := http.Get(srv.URL + "/app/refused")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with the queue full: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %s, want at once", d)
	}
	close(release)
	got := map[string]bool{<-codes: true, <-codes: true}
	for _, want := range []string{"200 OK ok /block", "200 OK ok /queued"} {
		if !got[want] {
			t.Errorf("responses %v lack %q", got, want)
		}
	}
}
