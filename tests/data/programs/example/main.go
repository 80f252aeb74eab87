// Scenario example: a small but realistic "service". An HTTP server on
// loopback with three handlers (a cache behind an RWMutex, a search fanned out
// to a worker pool over channels, and an allocation-heavy report), a load
// generator of concurrent clients, user tasks/regions/logs per request, a
// background janitor on a ticker, and garbage collection. The Go 1.26 trace
// of this program is bundled as gotrace_df/data/example.trace.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type cache struct {
	mu sync.RWMutex
	m  map[string]string
}

func (c *cache) get(k string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cache) put(k, v string) {
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
}

type job struct {
	ctx   context.Context
	shard int
	query string
	out   chan<- []string
}

var corpus []string

func worker(id int, jobs <-chan job) {
	for j := range jobs {
		trace.WithRegion(j.ctx, "shard-scan", func() {
			var hits []string
			for i := j.shard; i < len(corpus); i += 4 {
				if strings.Contains(corpus[i], j.query) {
					hits = append(hits, corpus[i])
				}
			}
			j.out <- hits
		})
	}
}

func withTask(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, task := trace.NewTask(r.Context(), name)
		defer task.End()
		trace.Log(ctx, "path", r.URL.Path)
		h(w, r.WithContext(ctx))
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	for i := 0; i < 4000; i++ {
		corpus = append(corpus, words[rng.Intn(8)]+"-"+words[rng.Intn(8)]+"-"+strconv.Itoa(i))
	}

	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}

	c := &cache{m: make(map[string]string)}
	jobs := make(chan job, 16)
	for i := 0; i < 4; i++ {
		go worker(i, jobs)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/cache", withTask("cache", func(w http.ResponseWriter, r *http.Request) {
		k := r.URL.Query().Get("k")
		var v string
		var ok bool
		trace.WithRegion(r.Context(), "lookup", func() { v, ok = c.get(k) })
		if !ok {
			trace.WithRegion(r.Context(), "fill", func() {
				h := fnv.New64a()
				for i := 0; i < 200; i++ {
					h.Write([]byte(k))
				}
				v = strconv.FormatUint(h.Sum64(), 16)
				time.Sleep(200 * time.Microsecond) // pretend backend
				c.put(k, v)
			})
			trace.Log(r.Context(), "cache", "miss")
		} else {
			trace.Log(r.Context(), "cache", "hit")
		}
		io.WriteString(w, v)
	}))
	mux.HandleFunc("/search", withTask("search", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		out := make(chan []string, 4)
		trace.WithRegion(r.Context(), "fan-out", func() {
			for s := 0; s < 4; s++ {
				jobs <- job{ctx: r.Context(), shard: s, query: q, out: out}
			}
		})
		var all []string
		trace.WithRegion(r.Context(), "gather", func() {
			for s := 0; s < 4; s++ {
				all = append(all, <-out...)
			}
		})
		sort.Strings(all)
		trace.Logf(r.Context(), "hits", "%d", len(all))
		if len(all) > 20 {
			all = all[:20]
		}
		json.NewEncoder(w).Encode(all)
	}))
	mux.HandleFunc("/report", withTask("report", func(w http.ResponseWriter, r *http.Request) {
		type row struct {
			Key   string
			Count int
			Tags  []string
		}
		var rows []row
		trace.WithRegion(r.Context(), "build", func() {
			for i := 0; i < 1500; i++ {
				rows = append(rows, row{Key: fmt.Sprintf("k%05d", i), Count: i * 7 % 13, Tags: []string{"a", "b", strconv.Itoa(i)}})
			}
		})
		trace.WithRegion(r.Context(), "encode", func() {
			b, _ := json.Marshal(rows)
			w.Write(b[:1024])
		})
	}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)

	// background janitor
	stopJanitor := make(chan struct{})
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				trace.WithRegion(context.Background(), "janitor", func() {
					c.mu.Lock()
					if len(c.m) > 30 {
						c.m = make(map[string]string)
					}
					c.mu.Unlock()
				})
			case <-stopJanitor:
				return
			}
		}
	}()

	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var wg sync.WaitGroup
	for cl := 0; cl < 6; cl++ {
		wg.Add(1)
		go func(cl int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(cl)))
			for i := 0; i < 25; i++ {
				var url string
				switch r.Intn(4) {
				case 0, 1:
					url = base + "/cache?k=key" + strconv.Itoa(r.Intn(40))
				case 2:
					url = base + "/search?q=" + words[r.Intn(8)]
				default:
					url = base + "/report"
				}
				resp, err := client.Get(url)
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				time.Sleep(time.Duration(r.Intn(2000)) * time.Microsecond)
			}
		}(cl)
	}
	wg.Wait()
	close(stopJanitor)
	<-janitorDone
	srv.Close()
	close(jobs)
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
