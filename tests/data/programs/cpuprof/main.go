// Scenario cpuprof: CPU profiling while tracing, with CPU-bound goroutines, so
// CPU samples (with stacks) appear in the trace.
package main

import (
	"io"
	"log"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

//go:noinline
func spinA(d time.Duration) uint64 {
	end := time.Now().Add(d)
	var x uint64 = 1
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*2862933555777941757 + 3037000493
		}
	}
	return x
}

//go:noinline
func spinB(d time.Duration) uint64 { return spinA(d) + 1 }

var sink uint64

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var v uint64
			if g%2 == 0 {
				v = spinA(250 * time.Millisecond)
			} else {
				v = spinB(250 * time.Millisecond)
			}
			mu.Lock()
			sink += v
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	trace.Stop()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
