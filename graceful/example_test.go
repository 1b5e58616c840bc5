package graceful_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ebb-run/ebb/graceful"
)

// A typical main: serve until SIGTERM, then drain. On Cerebrium or ebb the
// grace period comes from EBB_GRACE_PERIOD.
func Example() {
	g := graceful.New(graceful.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"message":"Hello Cerebrium!"}`)
	})
	// GET /ready is answered by the Server itself.
	srv := &http.Server{Addr: ":8000", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := g.ListenAndServe(context.Background(), srv); err != nil {
		log.Fatal(err)
	}
}

// Serve runs until its context is cancelled (or a stop signal arrives),
// then drains and returns.
func ExampleServer_Serve() {
	g := graceful.New(graceful.Options{Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	})}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, srv, ln) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/ready", "/hello"} {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %d %s\n", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}

	stop()
	fmt.Println("Serve returned:", <-done)
	// Output:
	// /ready 200 {"status":"ready","active_requests":0}
	// /hello 200 hello
	// Serve returned: <nil>
}

// With ManualStart, readiness stays 503 until the app says it is warm.
func ExampleServer_Started() {
	g := graceful.New(graceful.Options{ManualStart: true, Logger: slog.New(slog.DiscardHandler)})
	ready := g.ReadyHandler()
	probe := func() {
		rec := httptest.NewRecorder()
		ready.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	probe()
	g.Started() // for example after loading a model
	probe()
	// Output:
	// 503 {"status":"starting","active_requests":0}
	// 200 {"status":"ready","active_requests":0}
}

// Shutdown hooks run after the last request, within the grace period.
func ExampleServer_OnShutdown() {
	g := graceful.New(graceful.Options{GracePeriod: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	g.OnShutdown(func(ctx context.Context) error {
		fmt.Println("closing the database")
		return nil
	})
	g.OnShutdown(func(ctx context.Context) error {
		fmt.Println("flushing metrics") // registered last, runs first
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	stop() // stop at once: nothing is in flight
	fmt.Println("Serve returned:", g.Serve(ctx, &http.Server{}, ln))
	// Output:
	// flushing metrics
	// closing the database
	// Serve returned: <nil>
}

// Middleware can be used without Serve, for example in tests; it answers
// the readiness path itself and tracks every other request.
func ExampleServer_Middleware() {
	g := graceful.New(graceful.Options{MaxConcurrency: 1, Logger: slog.New(slog.DiscardHandler)})
	g.Started()
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Println("in flight:", g.Active())
	}))
	for _, path := range []string{"/work", "/ready"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d %q\n", path, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// in flight: 1
	// /work 200 ""
	// /ready 200 "{\"status\":\"ready\",\"active_requests\":0}"
}
