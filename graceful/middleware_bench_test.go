package graceful_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ebb-run/ebb/graceful"
)

// BenchmarkMiddleware measures what Middleware adds to a request, in
// parallel, without and with a concurrency cap.
func BenchmarkMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts graceful.Options
	}{
		{"unlimited", graceful.Options{}},
		{"capped", graceful.Options{MaxConcurrency: 1 << 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.opts.Logger = slog.New(slog.DiscardHandler)
			g := graceful.New(tc.opts)
			h := g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/work", nil)
				w := httptest.NewRecorder()
				for pb.Next() {
					h.ServeHTTP(w, req)
				}
			})
		})
	}
}
