package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// nginxConfig is an nginx configuration that proxies listen to upstream
// the way a tuned production nginx would: HTTP/1.1 to the upstream with a
// pool of keep-alive connections and no access log (ebb does not write one
// per request either). It does the same per-request work as ebb: the
// X-Forwarded-* headers and a request id sent upstream and returned.
func nginxConfig(dir, listen, upstream string, workers int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `worker_processes %d;
pid %s;
error_log %s warn;
daemon off;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    access_log off;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    keepalive_requests 1000000;
    upstream app {
        server %s;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen %s reuseport;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-Id $request_id;
            add_header X-Request-Id $request_id;
        }
    }
}
`, workers, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"),
		filepath.Join(dir, "client_body"), filepath.Join(dir, "proxy"), filepath.Join(dir, "fastcgi"),
		filepath.Join(dir, "uwsgi"), filepath.Join(dir, "scgi"), upstream, listen)
	return b.String()
}

// nginxArgv writes the configuration into dir and returns the command that
// runs nginx in the foreground with it.
func nginxArgv(nginx, dir, listen, upstream string, workers int) ([]string, error) {
	conf := filepath.Join(dir, fmt.Sprintf("nginx-%d.conf", workers))
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, listen, upstream, workers)), 0o644); err != nil {
		return nil, fmt.Errorf("bench: write nginx config: %w", err)
	}
	// -e: the error log before the configuration is read (the default
	// path may not be writable); -p: prefix for relative paths.
	return []string{nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}, nil
}
