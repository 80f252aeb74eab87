// Scenario diffpair: one program, run twice with a knob, for the before/after
// diff of tests/test_diff.py. Workers main.worker goroutines take turns on
// one mutex, Rounds times each; each holds it for HOLD (the knob, in
// milliseconds) inside a region "hold" of a task "round", while the others
// wait in sync.(*Mutex).Lock. main.steady sleeps a fixed SteadyMs, Rounds
// times, inside regions "steady": the part that does not change.
//
// Doubling HOLD doubles the "hold" regions and "round" tasks, the workers'
// blocking (sync and sleep), and the sync stack of the Lock in main.worker;
// the "steady" regions stay as they were.
//
// Usage: diffpair HOLD OUT.trace
package main

import (
	"context"
	"log"
	"os"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

const (
	Workers  = 3
	Rounds   = 12
	SteadyMs = 2
)

var mu sync.Mutex

func worker(hold time.Duration, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < Rounds; i++ {
		ctx, task := trace.NewTask(context.Background(), "round")
		mu.Lock()
		trace.WithRegion(ctx, "hold", func() { time.Sleep(hold) })
		mu.Unlock()
		task.End()
	}
}

func steady(wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < Rounds; i++ {
		trace.WithRegion(context.Background(), "steady", func() {
			time.Sleep(SteadyMs * time.Millisecond)
		})
	}
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: diffpair HOLD_MS OUT.trace")
	}
	ms, err := strconv.Atoi(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(Workers + 1)
	go steady(&wg)
	for i := 0; i < Workers; i++ {
		go worker(time.Duration(ms)*time.Millisecond, &wg)
	}
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
