// Scenario gotest: traces come from `go test -trace=<path>` (not from this
// main). The code under test is a small word counter; see main_test.go.
package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// CountWords counts words in parallel chunks.
func CountWords(text string, workers int) map[string]int {
	words := strings.Fields(text)
	out := make(map[string]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	chunk := (len(words) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, (w+1)*chunk
		if lo > len(words) {
			lo = len(words)
		}
		if hi > len(words) {
			hi = len(words)
		}
		wg.Add(1)
		go func(part []string) {
			defer wg.Done()
			local := make(map[string]int)
			for _, s := range part {
				local[strings.ToLower(s)]++
			}
			mu.Lock()
			for k, v := range local {
				out[k] += v
			}
			mu.Unlock()
		}(words[lo:hi])
	}
	wg.Wait()
	return out
}

func main() {
	fmt.Println(CountWords(strings.Join(os.Args[1:], " "), 2))
}
