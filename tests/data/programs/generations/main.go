// Scenario generations: steady activity for a few hundred milliseconds while
// GODEBUG=traceadvanceperiod is small, so the trace has many generations.
// Goroutines are alive across generation boundaries in every state.
package main

import (
	"log"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	ch := make(chan int)
	var wg sync.WaitGroup
	// a ping-pong pair alive during the whole trace
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 120; i++ {
			ch <- i
			time.Sleep(time.Millisecond)
		}
		close(ch)
	}()
	go func() {
		defer wg.Done()
		for range ch {
		}
	}()
	// a goroutine blocked for the whole trace until the end
	block := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); <-block }()
	// short bursts of goroutines
	for i := 0; i < 40; i++ {
		var bw sync.WaitGroup
		for j := 0; j < 5; j++ {
			bw.Add(1)
			go func() {
				defer bw.Done()
				end := time.Now().Add(200 * time.Microsecond)
				for time.Now().Before(end) {
				}
			}()
		}
		bw.Wait()
		time.Sleep(2 * time.Millisecond)
	}
	close(block)
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
