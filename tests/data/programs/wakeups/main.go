// Scenario wakeups: wakeups whose waker is known by construction, for
// tests/test_wakeups.py. Before each wakeup the waker polls the runtime's
// goroutine dump (runtime.Stack) until the wakee is parked, so every
// handoff below unblocks a waiting goroutine and none finds it running:
//
//   - main.producer wakes main.consumer Rounds times ("chan receive");
//   - main.writer, holding an RWMutex, wakes each of Readers main.reader
//     goroutines once ("sync");
//   - main.sleeper sleeps Sleeps times, each woken by a timer ("sleep");
//   - main.main creates producer, consumer, writer, sleeper; writer creates
//     the readers.
//
// Usage: wakeups OUT.trace
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

const (
	Rounds  = 40
	Readers = 5
	Sleeps  = 7
)

// goid is the calling goroutine's ID, from its stack header.
func goid() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	id, err := strconv.Atoi(string(f[1]))
	if err != nil {
		panic(err)
	}
	return id
}

// dumpBuf is reused by awaitParked: allocating per poll would start GCs
// whose workers add wakeups of their own.
var dumpBuf = make([]byte, 1<<16)

// awaitParked returns once every goroutine of ids shows state in the dump.
// Only the goroutine that is about to wake them calls it.
func awaitParked(ids []int, state string) {
	want := make([][]byte, len(ids))
	for i, id := range ids {
		want[i] = []byte(fmt.Sprintf("goroutine %d [%s", id, state))
	}
	for {
		dump := dumpBuf[:runtime.Stack(dumpBuf, true)]
		all := true
		for _, w := range want {
			if !bytes.Contains(dump, w) {
				all = false
				break
			}
		}
		if all {
			return
		}
		runtime.Gosched()
	}
}

func consumer(ch <-chan int, id chan<- int, done chan<- struct{}) {
	id <- goid()
	for range Rounds {
		<-ch
	}
	close(done)
}

func producer(ch chan<- int, consumerID int) {
	for i := range Rounds {
		awaitParked([]int{consumerID}, "chan receive")
		ch <- i
	}
}

func reader(mu *sync.RWMutex, ids chan<- int, wg *sync.WaitGroup) {
	defer wg.Done()
	ids <- goid()
	mu.RLock()
	mu.RUnlock()
}

func writer(done chan<- struct{}) {
	var mu sync.RWMutex
	var wg sync.WaitGroup
	mu.Lock()
	ids := make(chan int, Readers)
	for range Readers {
		wg.Add(1)
		go reader(&mu, ids, &wg)
	}
	var readers []int
	for range Readers {
		readers = append(readers, <-ids)
	}
	awaitParked(readers, "sync.RWMutex.RLock")
	mu.Unlock()
	wg.Wait()
	close(done)
}

func sleeper(done chan<- struct{}) {
	for range Sleeps {
		time.Sleep(2 * time.Millisecond)
	}
	close(done)
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	ch := make(chan int)
	id := make(chan int)
	consumed, written, slept := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go consumer(ch, id, consumed)
	go producer(ch, <-id)
	go writer(written)
	go sleeper(slept)
	<-consumed
	<-written
	<-slept
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
