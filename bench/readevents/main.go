// Command readevents is the Go side of bench/bench_parse.py: the least a
// program can do with golang.org/x/exp/trace, calling ReadEvent until io.EOF
// and dropping every event. It prints {"events": N, "seconds": S}, S being
// the time from opening the file to the last event.
//
// Usage: readevents FILE
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: readevents FILE")
		os.Exit(2)
	}
	start := time.Now()
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	// NewReader buffers its input itself.
	r, err := trace.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n++
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("{\"events\": %d, \"seconds\": %.6f}\n", n, secs)
}
