package main

import (
	"context"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

var text = strings.Repeat("the quick brown fox jumps over the lazy dog ", 200)

func TestCount(t *testing.T) {
	got := CountWords(text, 4)
	if got["the"] != 400 {
		t.Fatalf("the = %d", got["the"])
	}
}

func TestParallel(t *testing.T) {
	for _, w := range []int{1, 2, 3, 4} {
		w := w
		t.Run(strings.Repeat("w", w), func(t *testing.T) {
			t.Parallel()
			ctx, task := trace.NewTask(context.Background(), "parallel-subtest")
			defer task.End()
			trace.WithRegion(ctx, "count", func() {
				if CountWords(text, w)["fox"] != 200 {
					t.Error("bad count")
				}
			})
			time.Sleep(time.Millisecond)
		})
	}
}

func BenchmarkCount(b *testing.B) {
	for i := 0; i < b.N; i++ {
		CountWords(text, 4)
	}
}

func BenchmarkCountParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			CountWords(text, 1)
		}
	})
}
