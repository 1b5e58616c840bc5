// Command ignore is an HTTP server that ignores SIGTERM: it keeps serving
// until it is killed with SIGKILL.
package main

import (
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
	signal.Ignore(syscall.SIGTERM)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("/slow", slow)
	log.Printf("ignore: listening on 127.0.0.1:%s", os.Getenv("PORT"))
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
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
