// Command workload writes a large, busy execution trace for the benchmarks:
// goroutine churn, channels, mutexes, select, syscalls, GC with mark assist,
// user tasks, regions and logs, until the trace reaches the requested size.
// The benches make their traces with it (bench/traces.py):
//
//	cd bench/workload && go run . -o ../data/workload-25mb.trace -mb 25
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

type countingFile struct {
	f *os.File
	n atomic.Int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.f.Write(p)
}

var sink [][]byte

func main() {
	out := flag.String("o", "workload.trace", "output trace file")
	mb := flag.Int64("mb", 60, "stop once the trace is this many MiB")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	cf := &countingFile{f: f}
	if err := trace.Start(cf); err != nil {
		panic(err)
	}
	limit := *mb << 20
	var stop atomic.Bool
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0) * 4
	var mu sync.Mutex
	counter := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ch := make(chan int)
			done := make(chan struct{})
			for i := 0; !stop.Load(); i++ {
				ctx, task := trace.NewTask(context.Background(), fmt.Sprintf("job-%d", i%7))
				trace.WithRegion(ctx, "fanout", func() {
					var inner sync.WaitGroup
					for k := 0; k < 8; k++ {
						inner.Add(1)
						go func(k int) {
							defer inner.Done()
							trace.WithRegion(ctx, "step", func() {
								select {
								case ch <- k:
								case <-done:
								case <-time.After(50 * time.Microsecond):
								}
							})
						}(k)
					}
					for k := 0; k < 4; k++ {
						select {
						case <-ch:
						case <-time.After(20 * time.Microsecond):
						}
					}
					inner.Wait()
				})
				mu.Lock()
				counter++
				mu.Unlock()
				if i%16 == 0 {
					trace.Log(ctx, "progress", fmt.Sprintf("worker %d at %d", w, i))
					buf := make([]byte, 1<<16)
					sink = append(sink[:0], buf)
				}
				if i%64 == 0 {
					_, _ = os.Stat("/")
					_ = os.Getpid()
				}
				task.End()
			}
		}(w)
	}
	for cf.n.Load() < limit {
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		panic(err)
	}
	fi, _ := os.Stat(*out)
	fmt.Printf("wrote %s: %d bytes, %d jobs\n", *out, fi.Size(), counter)
}
