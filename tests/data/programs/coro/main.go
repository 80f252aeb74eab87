//go:build go1.23

// Scenario coro: iter.Pull coroutines (GoSwitch, GoSwitchDestroy; Go 1.23+).
package main

import (
	"iter"
	"log"
	"os"
	"runtime/trace"
	"sync"
)

func count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
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
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				next, stop := iter.Pull(count(30))
				sum := 0
				for i := 0; i < 10+k; i++ { // some are exhausted, some stopped early
					v, ok := next()
					if !ok {
						break
					}
					sum += v
				}
				stop()
			}
		}(g)
	}
	wg.Wait()
	// two pulls interleaved, plus range-over-func
	n1, s1 := iter.Pull(count(100))
	n2, s2 := iter.Pull(count(100))
	for i := 0; i < 100; i++ {
		n1()
		n2()
	}
	s1()
	s2()
	total := 0
	for v := range count(10) {
		total += v
	}
	_ = total
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
