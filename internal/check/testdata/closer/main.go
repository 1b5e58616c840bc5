// Command closer is an HTTP server that calls http.Server.Shutdown on
// SIGTERM: the listener closes at once (new connections are refused, the
// readiness endpoint too) while requests in flight run to completion.
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
	"syscall"
	"time"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("/slow", slow)
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-sig
		log.Print("closer: SIGTERM, shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Print("closer: shutdown: ", err)
		}
	}()
	log.Printf("closer: listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	// ListenAndServe returns as soon as Shutdown starts; wait for it.
	<-done
	log.Print("closer: done")
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
