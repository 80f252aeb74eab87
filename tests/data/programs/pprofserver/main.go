// pprofserver: a Go program serving net/http/pprof on loopback, for the tests
// of reading a trace from a URL (gotrace_df.read_trace("http://...")).
//
// It listens on 127.0.0.1 (port from the first argument, 0 for any), prints
// "listening on http://127.0.0.1:PORT" on stdout, keeps some goroutines busy
// (tasks, regions, channels, a mutex, sleeps) so traces have content, and
// exits when its standard input is closed, so a test can never leave it behind.
//
// Besides /debug/pprof/ it serves:
//
//	/flightrecorder  a runtime/trace.FlightRecorder snapshot (its first
//	                 generation is above 1)
//	/gzip/trace?seconds=N  a trace like /debug/pprof/trace, gzip-compressed
//	/stall           sends headers, then nothing until the client leaves
//
// Not part of the corpus (tests/data/make_corpus.py); built by the tests with
// the system go (GOTOOLCHAIN=local).
package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Second, MaxBytes: 4 << 20})
	if err := fr.Start(); err != nil {
		log.Fatal(err)
	}
	var frMu sync.Mutex
	http.HandleFunc("/flightrecorder", func(w http.ResponseWriter, r *http.Request) {
		frMu.Lock()
		defer frMu.Unlock()
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := fr.WriteTo(w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	http.HandleFunc("/gzip/trace", func(w http.ResponseWriter, r *http.Request) {
		sec, err := strconv.ParseFloat(r.FormValue("seconds"), 64)
		if err != nil || sec <= 0 {
			sec = 1
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		zw := gzip.NewWriter(w)
		if err := trace.Start(zw); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		time.Sleep(time.Duration(sec * float64(time.Second)))
		trace.Stop()
		zw.Close()
	})
	http.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})

	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	go work()
	go func() {
		// Exit when the parent closes our stdin (or dies).
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}

// work keeps a few goroutines busy: tasks with regions and logs, a producer
// and consumers over a channel, a contended mutex, timers.
func work() {
	ctx := context.Background()
	jobs := make(chan int)
	var mu sync.Mutex
	total := 0
	for w := 0; w < 3; w++ {
		go func() {
			for j := range jobs {
				tctx, task := trace.NewTask(ctx, "job")
				trace.WithRegion(tctx, "compute", func() {
					end := time.Now().Add(200 * time.Microsecond)
					for time.Now().Before(end) {
					}
				})
				mu.Lock()
				total += j
				mu.Unlock()
				trace.Logf(tctx, "job", "%d", j)
				task.End()
			}
		}()
	}
	for i := 0; ; i++ {
		jobs <- i
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}
