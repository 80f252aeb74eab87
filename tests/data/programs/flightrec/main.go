//go:build go1.25

// Scenario flightrec: runtime/trace.FlightRecorder (Go 1.25+). Work spans many
// generations (GODEBUG=traceadvanceperiod small); the snapshot written by
// WriteTo therefore starts at a generation above 1.
package main

import (
	"context"
	"log"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{
		MinAge:   20 * time.Millisecond,
		MaxBytes: 256 << 10,
	})
	if err := fr.Start(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	ch := make(chan int, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := range ch {
			_ = v
		}
	}()
	for i := 0; i < 80; i++ {
		tctx, task := trace.NewTask(ctx, "step")
		trace.WithRegion(tctx, "work", func() {
			end := time.Now().Add(300 * time.Microsecond)
			for time.Now().Before(end) {
			}
		})
		trace.Logf(tctx, "i", "%d", i)
		ch <- i
		task.End()
		time.Sleep(time.Millisecond)
	}
	close(ch)
	wg.Wait()
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if _, err := fr.WriteTo(f); err != nil {
		log.Fatal(err)
	}
	fr.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
