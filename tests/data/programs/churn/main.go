// Scenario churn: thousands of short-lived goroutines (create/start/exit churn),
// some yielding, some creating children of their own.
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
)

var sink uint64

func leaf(i int, wg *sync.WaitGroup) {
	defer wg.Done()
	x := uint64(i)
	for j := 0; j < 50; j++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if i%7 == 0 {
		runtime.Gosched()
	}
	if i%97 == 0 {
		// a goroutine spawning a small fan-out of its own
		var inner sync.WaitGroup
		for k := 0; k < 4; k++ {
			inner.Add(1)
			go func() { defer inner.Done(); runtime.Gosched() }()
		}
		inner.Wait()
	}
	if x == 42 {
		sink = x
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	for round := 0; round < 25; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 160; i++ {
			wg.Add(1)
			go leaf(round*1000+i, &wg)
		}
		wg.Wait()
	}
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
