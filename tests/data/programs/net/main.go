// Scenario net: TCP over loopback (echo server and clients) and an HTTP
// server and client over loopback: network blocking and netpoller wakeups.
package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/trace"
	"strings"
	"sync"
)

func tcp() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				io.Copy(c, c) // echo
			}(c)
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				log.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			payload := strings.Repeat("x", 1000*(i+1))
			for j := 0; j < 30; j++ {
				fmt.Fprintf(c, "%d %s\n", j, payload)
				if _, err := r.ReadString('\n'); err != nil {
					log.Fatal(err)
				}
			}
		}(i)
	}
	wg.Wait()
}

func httpRoundTrips() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("y", 64<<10)))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	client := &http.Client{}
	base := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				path := "/hello?n=" + fmt.Sprint(j)
				if j%3 == 0 {
					path = "/big"
				}
				resp, err := client.Get(base + path)
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(i)
	}
	wg.Wait()
	srv.Close()
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	tcp()
	httpRoundTrips()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
