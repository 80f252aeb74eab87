//go:build go1.23

// Scenario allocfree: run with GODEBUG=traceallocfree=1 (Go 1.23+): the
// experimental heap/stack/goroutine-ID alloc/free events and the heap snapshot
// at trace start. The traced section is kept tiny because these traces grow fast.
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
)

type obj struct{ a [8]uint64 }

var sink []*obj

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() { // goroutine creation: stack and goroutine ID alloc
			defer wg.Done()
			for i := 0; i < 200; i++ {
				sink = append(sink, &obj{})
			}
		}()
	}
	wg.Wait()
	sink = nil
	big := make([]byte, 256<<10) // a large-object span
	big[0] = 1
	runtime.GC() // frees spans
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
