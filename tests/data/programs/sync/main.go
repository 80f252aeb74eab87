// Scenario sync: blocking and unblocking through channels (buffered and
// unbuffered), select, sync.Mutex, sync.RWMutex, sync.Cond, WaitGroup and
// time-based blocking.
package main

import (
	"log"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func unbuffered() {
	ch := make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ch {
			_ = v
		}
		close(done)
	}()
	for i := 0; i < 300; i++ {
		ch <- i
	}
	close(ch)
	<-done
}

func buffered() {
	ch := make(chan int, 8)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range ch {
				if v%50 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}()
	}
	for i := 0; i < 600; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
}

func selects() {
	a, b := make(chan int), make(chan int)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			a <- i
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			b <- i
		}
	}()
	go func() {
		defer wg.Done()
		n := 0
		t := time.NewTimer(time.Hour)
		for n < 200 {
			select {
			case <-a:
				n++
			case <-b:
				n++
			case <-t.C:
			}
		}
		close(quit)
	}()
	wg.Wait()
	// select with timeout that fires
	select {
	case <-make(chan int):
	case <-time.After(2 * time.Millisecond):
	}
	<-quit
	// a select with no cases would block forever; a nil-channel select with default
	var nilch chan int
	select {
	case <-nilch:
	default:
	}
}

func mutexes() {
	var mu sync.Mutex
	var rw sync.RWMutex
	var wg sync.WaitGroup
	counter := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				mu.Lock()
				counter++
				if i%20 == 0 {
					time.Sleep(50 * time.Microsecond) // hold the lock while sleeping: contention
				}
				mu.Unlock()
				if g%2 == 0 {
					rw.RLock()
					_ = counter
					rw.RUnlock()
				} else if i%10 == 0 {
					rw.Lock()
					time.Sleep(20 * time.Microsecond)
					rw.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
}

func cond() {
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	ready := 0
	var wg sync.WaitGroup
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			for ready == 0 {
				c.Wait()
			}
			mu.Unlock()
		}()
	}
	time.Sleep(time.Millisecond)
	mu.Lock()
	ready = 1
	c.Signal()
	mu.Unlock()
	time.Sleep(200 * time.Microsecond)
	mu.Lock()
	c.Broadcast()
	mu.Unlock()
	wg.Wait()
}

func waitgroup() {
	var start, wg sync.WaitGroup
	start.Add(1)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait() // many goroutines blocked on one WaitGroup
		}()
	}
	time.Sleep(time.Millisecond)
	start.Done()
	wg.Wait()
	var once sync.Once
	for i := 0; i < 3; i++ {
		once.Do(func() {})
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
	unbuffered()
	buffered()
	selects()
	mutexes()
	cond()
	waitgroup()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
