package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/ebb-run/ebb/internal/proxy"
)

// RunForwarder serves on listen a minimal proxy that sends every request
// through proxy.Forward to upstream, with request ids on as in ebb. The
// benchmark measures it when `ebb run` is not available.
func RunForwarder(ctx context.Context, listen, upstream string) error {
	p := proxy.New(proxy.Options{RequestID: true})
	defer p.Close()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := p.Forward(w, r, upstream); proxy.Retryable(err) {
				http.Error(w, "upstream unavailable", http.StatusBadGateway)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return serveUntil(ctx, srv, listen)
}
