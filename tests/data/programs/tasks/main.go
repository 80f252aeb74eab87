// Scenario tasks: user annotations. Run with GODEBUG=traceadvanceperiod small
// so tasks and regions span several generations. Covers: tasks ending on other
// goroutines, parent/child tasks, nested regions, regions spanning
// generations, logs with and without category and with no task, a task never
// ended, a task created before tracing started (ended while tracing), a region
// still open when tracing stops, and Logf.
package main

import (
	"context"
	"log"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func work(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		x++
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	bg := context.Background()
	// created before the trace starts: its TaskEnd refers to an unknown task
	_, early := trace.NewTask(bg, "pre-trace task")

	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	trace.Log(bg, "", "log with no task and no category")
	trace.Log(bg, "phase", "startup")

	ctx, root := trace.NewTask(bg, "request")
	trace.Logf(ctx, "request-id", "id=%d", 12345)

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		cctx, child := trace.NewTask(ctx, "subtask") // parent = request
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer child.End() // ended on another goroutine than created
			trace.WithRegion(cctx, "outer", func() {
				trace.Log(cctx, "step", "entering outer")
				work(2 * time.Millisecond)
				r := trace.StartRegion(cctx, "inner")
				work(time.Millisecond)
				r2 := trace.StartRegion(cctx, "innermost")
				time.Sleep(time.Millisecond)
				r2.End()
				r.End()
			})
			// region with no task
			trace.WithRegion(bg, "taskless region", func() { work(500 * time.Microsecond) })
			// grandchild task
			gctx, gt := trace.NewTask(cctx, "grandchild")
			trace.Logf(gctx, "", "grandchild %d", i)
			gt.End()
		}(i)
	}
	wg.Wait()

	// a region spanning several generations (traceadvanceperiod is small)
	trace.WithRegion(ctx, "long region", func() {
		for i := 0; i < 5; i++ {
			time.Sleep(4 * time.Millisecond)
			trace.Logf(ctx, "tick", "%d", i)
		}
	})

	// a task created in one generation and ended in a later one, on another goroutine
	lctx, long := trace.NewTask(bg, "long task")
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(15 * time.Millisecond)
		trace.Log(lctx, "late", "ending long task")
		long.End()
	}()
	<-done

	// a task never ended
	nctx, _ := trace.NewTask(bg, "never ended")
	trace.Log(nctx, "", "orphan log")

	// many tiny tasks
	for i := 0; i < 50; i++ {
		tctx, t := trace.NewTask(ctx, "tiny")
		trace.WithRegion(tctx, "tiny region", func() {})
		t.End()
	}

	early.End()
	root.End()

	// region still open when tracing stops, on a goroutine that keeps running
	open := make(chan struct{})
	go func() {
		r := trace.StartRegion(nctx, "unfinished region")
		<-open
		r.End()
	}()
	time.Sleep(time.Millisecond)
	trace.Stop()
	close(open)
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
