package bench

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// RunReverseProxy serves on listen a plain net/http/httputil.ReverseProxy
// to upstream, with a tuned transport (keep-alive pool sized for the load,
// no compression, no proxy lookup, HTTP/1.1 only). It is the reference the
// benchmark shows next to proxy.Forward with -reference.
func RunReverseProxy(ctx context.Context, listen, upstream string) error {
	target := &url.URL{Scheme: "http", Host: upstream}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     60 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	return serveUntil(ctx, srv, listen)
}
