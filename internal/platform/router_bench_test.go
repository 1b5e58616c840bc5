package platform

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/proxy"
)

// BenchmarkAcquireRelease is the router's per-request bookkeeping: pick a
// replica, reserve a slot, release it.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, lb := range []string{config.LBFirstAvailable, config.LBRoundRobin, config.LBMinConnections, config.LBRandomChoice2} {
		b.Run(lb, func(b *testing.B) {
			a := testApp(b, 4, 1000, lb, "127.0.0.1:1")
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rep, _, _, err := a.acquire(ctx)
					if err != nil {
						b.Fatal(err)
					}
					rep.release()
				}
			})
		})
	}
}

// BenchmarkRouter is one request through the router to a real upstream on
// loopback.
func BenchmarkRouter(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	a := testApp(b, 2, 1000, config.LBRoundRobin, strings.TrimPrefix(up.URL, "http://"))
	rt := &router{p: a.p, proxy: proxy.New(proxy.Options{RequestID: true})}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/v4/p-1/app/hello", nil)
			rt.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
