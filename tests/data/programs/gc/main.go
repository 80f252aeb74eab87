// Scenario gc: allocation-heavy work so that several GC cycles run, with mark
// assists (goroutines allocating while marking), background sweeping,
// runtime.GC (stop-the-world), runtime.ReadMemStats (STW) and debug.FreeOSMemory.
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"sync"
)

type node struct {
	left, right *node
	payload     [6]uint64
}

func build(d int) *node {
	if d == 0 {
		return &node{}
	}
	return &node{left: build(d - 1), right: build(d - 1)}
}

var keep []*node
var keepMu sync.Mutex

func allocator(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	var local []*node
	for i := 0; i < 24; i++ {
		t := build(9) // ~512 nodes of 64 bytes, short lived
		if i%12 == 0 {
			local = append(local, t) // some survive: a live heap to mark
		}
		b := make([]byte, 16<<10) // mid-size allocations too
		b[0] = byte(i)
	}
	keepMu.Lock()
	keep = append(keep, local...)
	keepMu.Unlock()
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	debug.SetGCPercent(50)
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go allocator(g, &wg)
		}
		wg.Wait()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms) // stop-the-world
		if round == 1 {
			runtime.GC() // forced, blocking collection
			keep = keep[:len(keep)/2]
		}
	}
	keep = nil
	debug.FreeOSMemory() // a GC plus scavenging
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// Note: runtime.GC and debug.FreeOSMemory wait for sweeping to finish by
// spinning on Gosched, so their traces contain long runs of GoStop/GoStart
// pairs whose length (and the trace size) varies from run to run.
