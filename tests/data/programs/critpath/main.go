// Scenario critpath: requests (runtime/trace tasks) whose critical path is
// known by construction, for tests/test_critical_path.py. One task each:
//
//   - "chain": main.request waits on a channel fed by main.feeder, which
//     waits on a sync.Mutex held by main.holder; the holder sleeps Hold once
//     the feeder is parked on the mutex, so the whole sleep is on the path;
//   - "fanout": main.request starts Workers main.worker goroutines that
//     sleep Fast and one main.slowWorker that sleeps Slow once the request
//     waits for them all;
//   - "assist": main.request allocates while a GC runs with GOGC 5 and a
//     pointer-heavy live heap, so it does mark assists;
//   - "syscall": main.request reads a pipe with a blocking read(2), which
//     main.pipeWriter writes Hold after the request entered the syscall.
//
// Before each of those handoffs the goroutine that does it polls the
// runtime's goroutine dump until the other is parked (or in its syscall).
//
// Usage: critpath OUT.trace
package main

import (
	"bytes"
	"context"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"sync"
	"syscall"
	"time"
)

const (
	Hold    = 20 * time.Millisecond
	Fast    = 5 * time.Millisecond
	Slow    = 30 * time.Millisecond
	Workers = 4
)

var dumpBuf = make([]byte, 1<<20)

// awaitState returns once a goroutine with a frame of a function whose name
// ends in fn shows state in the goroutine dump.
func awaitState(state, fn string) {
	header, frame := []byte(" ["+state), []byte(fn+"(")
	for {
		for _, g := range bytes.Split(dumpBuf[:runtime.Stack(dumpBuf, true)], []byte("\n\n")) {
			line, _, _ := bytes.Cut(g, []byte("\n"))
			if bytes.Contains(line, header) && bytes.Contains(g, frame) {
				return
			}
		}
		runtime.Gosched()
	}
}

func chain() {
	var mu sync.Mutex
	locked := make(chan struct{})
	go holder(&mu, locked)
	<-locked
	request("chain", func() {
		ch := make(chan int)
		go feeder(&mu, ch)
		<-ch
	})
}

func holder(mu *sync.Mutex, locked chan<- struct{}) {
	mu.Lock()
	close(locked)
	awaitState("sync.Mutex.Lock", "main.feeder")
	time.Sleep(Hold)
	mu.Unlock()
}

func feeder(mu *sync.Mutex, ch chan<- int) {
	mu.Lock()
	ch <- 1
	mu.Unlock()
}

func fanout() {
	request("fanout", func() {
		var wg sync.WaitGroup
		wg.Add(Workers + 1)
		for range Workers {
			go worker(&wg)
		}
		go slowWorker(&wg)
		wg.Wait()
	})
}

func worker(wg *sync.WaitGroup) {
	time.Sleep(Fast)
	wg.Done()
}

func slowWorker(wg *sync.WaitGroup) {
	awaitState("sync.WaitGroup.Wait", "fanout.func1")
	time.Sleep(Slow)
	wg.Done()
}

type node struct {
	next *node
	pad  [6]*int
}

var live []*node

func assist() {
	// A live heap of pointers to mark, then GOGC 5: the request's
	// allocation keeps starting GCs and pays for their marking.
	for range 1 << 18 {
		live = append(live, &node{})
	}
	debug.SetGCPercent(5)
	defer debug.SetGCPercent(100)
	request("assist", func() {
		var head *node
		for i := range 1 << 19 {
			head = &node{next: head}
			if i%1024 == 0 {
				head = nil
			}
		}
	})
}

func syscallRead() {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		log.Fatal(err)
	}
	request("syscall", func() {
		go pipeWriter(fds[1])
		buf := make([]byte, 1)
		if _, err := syscall.Read(fds[0], buf); err != nil {
			log.Fatal(err)
		}
	})
	syscall.Close(fds[0])
	syscall.Close(fds[1])
}

func pipeWriter(fd int) {
	awaitState("syscall", "syscallRead.func1")
	time.Sleep(Hold)
	if _, err := syscall.Write(fd, []byte{1}); err != nil {
		log.Fatal(err)
	}
}

// request runs work as a task of type name on a goroutine of its own.
func request(name string, work func()) {
	done := make(chan struct{})
	go func() {
		ctx, task := trace.NewTask(context.Background(), name)
		_ = ctx
		work()
		task.End()
		close(done)
	}()
	<-done
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	chain()
	fanout()
	syscallRead()
	assist()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
