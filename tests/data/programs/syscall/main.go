// Scenario syscall: blocking system calls and file I/O. Short syscalls keep
// their P; long ones (nanosleep, blocking pipe reads, fsync, wait4 of a child
// process) last long enough for sysmon to retake the P (ProcSteal,
// GoSyscallEndBlocked).
package main

import (
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/trace"
	"sync"
	"syscall"
	"time"
)

func fileIO(dir string, id int) {
	name := filepath.Join(dir, "f"+string(rune('a'+id)))
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if _, err := f.Write(buf); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(name)
	if err != nil || len(data) != 8*len(buf) {
		log.Fatal("short read", err)
	}
	os.Remove(name)
}

func rawPipe() {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		b := make([]byte, 16)
		for i := 0; i < 3; i++ {
			// blocking read(2) on a blocking fd: the goroutine sits in a syscall
			if _, err := syscall.Read(p[0], b); err != nil {
				log.Fatal(err)
			}
		}
		close(done)
	}()
	for i := 0; i < 3; i++ {
		time.Sleep(3 * time.Millisecond)
		syscall.Write(p[1], []byte("ping"))
	}
	<-done
	syscall.Close(p[0])
	syscall.Close(p[1])
}

func nanosleeps() {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				ts := syscall.NsecToTimespec(int64(2+g) * int64(time.Millisecond))
				syscall.Nanosleep(&ts, nil) // long raw syscall: P gets retaken
				// and many very short ones
				for j := 0; j < 50; j++ {
					syscall.Getpid()
				}
			}
		}(g)
	}
	wg.Wait()
}

func osPipe() {
	r, w, err := os.Pipe() // non-blocking fds, handled by the netpoller
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for i := 0; i < 5; i++ {
			w.Write([]byte("hello"))
			time.Sleep(500 * time.Microsecond)
		}
		w.Close()
	}()
	b := make([]byte, 64)
	for {
		if _, err := r.Read(b); err != nil {
			break
		}
	}
	r.Close()
}

func child() {
	path, err := exec.LookPath("true")
	if err != nil {
		return
	}
	for i := 0; i < 2; i++ {
		if err := exec.Command(path).Run(); err != nil {
			log.Fatal(err)
		}
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "gotrace-syscall")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); fileIO(dir, i) }(i)
	}
	wg.Wait()
	rawPipe()
	nanosleeps()
	osPipe()
	child()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
