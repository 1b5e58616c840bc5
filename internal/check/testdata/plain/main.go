// Command plain is an HTTP server with no SIGTERM handling: the signal's
// default action kills it at once, cutting every request in flight.
package main

import (
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("/slow", slow)
	log.Printf("plain: listening on 127.0.0.1:%s", os.Getenv("PORT"))
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
}

// slow sends half of its body, sleeps ?seconds=N, then sends the rest, so
// that a cut shows as a short body.
func slow(w http.ResponseWriter, r *http.Request) {
	d, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
	half := strings.Repeat("x", 512)
	w.Header().Set("Content-Length", strconv.Itoa(2*len(half)))
	_, _ = w.Write([]byte(half))
	w.(http.Flusher).Flush()
	time.Sleep(time.Duration(d * float64(time.Second)))
	_, _ = w.Write([]byte(half))
}
