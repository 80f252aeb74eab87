// Scenario preexisting: tracing starts while ~500 goroutines already exist in
// various states (blocked on channels, a mutex, select, sleeping, in blocking
// syscalls, runnable/running), so the first generation is full of status
// events with pre-existing states.
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var stop atomic.Bool

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	release := make(chan struct{})
	// 200 blocked on a channel receive
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); <-release }()
	}
	// 100 blocked in select
	other := make(chan int)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-release:
			case <-other:
			}
		}()
	}
	// 80 sleeping (timers), some waking up during the trace
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(5+i%20) * time.Millisecond)
		}(i)
	}
	// 50 blocked on a mutex
	var mu sync.Mutex
	mu.Lock()
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); mu.Lock(); mu.Unlock() }()
	}
	// 4 in blocking syscalls (read on a blocking pipe)
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		log.Fatal(err)
	}
	var inSyscall sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		inSyscall.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			inSyscall.Done()
			syscall.Read(p[0], b)
		}()
	}
	// 66 runnable / running: spinning with Gosched
	for i := 0; i < 66; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				runtime.Gosched()
			}
		}()
	}
	inSyscall.Wait()
	time.Sleep(2 * time.Millisecond) // let everybody settle into its state

	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	stop.Store(true)
	mu.Unlock()
	close(release)
	syscall.Write(p[1], []byte("abcd"))
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
