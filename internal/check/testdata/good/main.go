// Command good is an HTTP server that drains the way a platform expects:
// on SIGTERM its readiness endpoint answers 503 at once, new requests get
// 503 with Connection: close, the listener stays open while requests in
// flight finish, and it exits as soon as they have.
//
// GOOD_DRAIN changes what new requests get while draining, to show faults:
// "hang" (no answer), "500", or "503-keep-alive" (503 without
// Connection: close). GOOD_LINGER (a duration) makes it wait after the
// drain before exiting.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	var draining atomic.Bool
	var inflight sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/slow", slow)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			if draining.Load() {
				http.Error(w, "draining", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ready\n"))
			return
		}
		if draining.Load() {
			switch os.Getenv("GOOD_DRAIN") {
			case "hang": // never answer; give up when the client does
				<-r.Context().Done()
				return
			case "500": // what a Starlette middleware raising HTTPException(503) sends
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
				return
			case "503-keep-alive":
				http.Error(w, "draining", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Connection", "close")
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		inflight.Add(1)
		defer inflight.Done()
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: handler}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-sig
		draining.Store(true)
		log.Print("good: SIGTERM, draining")
		inflight.Wait()
		// As an app that sleeps a fixed time before exiting does.
		if d, err := time.ParseDuration(os.Getenv("GOOD_LINGER")); err == nil {
			time.Sleep(d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Print("good: shutdown: ", err)
		}
	}()
	log.Printf("good: listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done
	log.Print("good: done")
}

func slow(w http.ResponseWriter, r *http.Request) {
	d, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
	half := strings.Repeat("x", 512)
	w.Header().Set("Content-Length", strconv.Itoa(2*len(half)))
	_, _ = w.Write([]byte(half))
	w.(http.Flusher).Flush()
	time.Sleep(time.Duration(d * float64(time.Second)))
	_, _ = w.Write([]byte(half))
}
