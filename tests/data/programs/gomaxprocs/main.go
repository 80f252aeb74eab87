// Scenario gomaxprocs: runtime.GOMAXPROCS changes during the trace (ProcsChange,
// STW, Ps going idle / appearing), with goroutines running between changes.
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

func burst() {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := time.Now().Add(2 * time.Millisecond)
			for time.Now().Before(end) {
			}
			time.Sleep(100 * time.Microsecond)
		}()
	}
	wg.Wait()
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	orig := runtime.GOMAXPROCS(0)
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	for _, n := range []int{1, 4, 2, 8, 1, 3, orig} {
		runtime.GOMAXPROCS(n)
		burst()
	}
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
