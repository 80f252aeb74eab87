// Command oracle reads a Go execution trace with golang.org/x/exp/trace and
// prints every event as one JSON object per line. It is the answer key for
// gotrace_df's event parser; see README.md for the exact output format.
//
// Usage: oracle [-stats] FILE   (FILE "-" reads stdin)
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/exp/trace"
)

func main() {
	stats := flag.Bool("stats", false, "print only {\"events\": N, \"seconds\": S}")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: oracle [-stats] FILE   (FILE - = stdin)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var in io.Reader
	if name := flag.Arg(0); name == "-" {
		in = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var code int
	if *stats {
		code = runStats(in, out)
	} else {
		code = runDump(in, out)
	}
	out.Flush()
	os.Exit(code)
}

// readAll calls fn for every event. It returns the read error (nil at EOF).
// A panic inside the parser is turned into an error whose message starts
// with "panic: ".
func readAll(in io.Reader, fn func(ev *trace.Event)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	r, err := trace.NewReader(in)
	if err != nil {
		return err
	}
	for {
		ev, err := r.ReadEvent()
		// Only the bare io.EOF is the end of the trace, as in cmd/trace: a
		// truncated batch gives an error that wraps io.EOF, and that is an error.
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(&ev)
	}
}

func writeError(out *bufio.Writer, err error) {
	b := []byte(`{"error":`)
	b = appendString(b, err.Error())
	b = append(b, "}\n"...)
	out.Write(b)
}

func runDump(in io.Reader, out *bufio.Writer) int {
	buf := make([]byte, 0, 4096)
	err := readAll(in, func(ev *trace.Event) {
		buf = appendEvent(buf[:0], ev)
		buf = append(buf, '\n')
		out.Write(buf)
	})
	if err != nil {
		writeError(out, err)
		return 1
	}
	return 0
}

// runStats reads every event and touches its details the way a real consumer
// would, without formatting output.
func runStats(in io.Reader, out *bufio.Writer) int {
	start := time.Now()
	var n int
	var sink uint64
	touchStack := func(s trace.Stack) {
		for f := range s.Frames() {
			sink += f.PC + f.Line + uint64(len(f.Func)) + uint64(len(f.File))
		}
	}
	err := readAll(in, func(ev *trace.Event) {
		n++
		sink += uint64(ev.Time()) + uint64(ev.Goroutine()) + uint64(ev.Proc()) + uint64(ev.Thread())
		touchStack(ev.Stack())
		switch k := ev.Kind(); k {
		case trace.EventSync:
			s := ev.Sync()
			sink += uint64(s.N) + uint64(len(s.ExperimentalBatches))
			if s.ClockSnapshot != nil {
				sink += s.ClockSnapshot.Mono
			}
		case trace.EventMetric:
			m := ev.Metric()
			sink += uint64(len(m.Name))
			if m.Value.Kind() == trace.ValueUint64 {
				sink += m.Value.Uint64()
			}
		case trace.EventLabel:
			l := ev.Label()
			sink += uint64(len(l.Label)) + uint64(l.Resource.Kind)
		case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
			r := ev.Range()
			sink += uint64(len(r.Name)) + uint64(r.Scope.Kind)
			if k == trace.EventRangeEnd {
				sink += uint64(len(ev.RangeAttributes()))
			}
		case trace.EventTaskBegin, trace.EventTaskEnd:
			t := ev.Task()
			sink += uint64(t.ID) + uint64(t.Parent) + uint64(len(t.Type))
		case trace.EventRegionBegin, trace.EventRegionEnd:
			r := ev.Region()
			sink += uint64(r.Task) + uint64(len(r.Type))
		case trace.EventLog:
			l := ev.Log()
			sink += uint64(l.Task) + uint64(len(l.Category)) + uint64(len(l.Message))
		case trace.EventStateTransition:
			st := ev.StateTransition()
			sink += uint64(len(st.Reason))
			switch st.Resource.Kind {
			case trace.ResourceGoroutine:
				from, to := st.Goroutine()
				sink += uint64(st.Resource.Goroutine()) + uint64(from) + uint64(to)
			case trace.ResourceProc:
				from, to := st.Proc()
				sink += uint64(st.Resource.Proc()) + uint64(from) + uint64(to)
			}
			touchStack(st.Stack)
		case trace.EventExperimental:
			x := ev.Experimental()
			for i := range x.Args {
				v := x.ArgValue(i)
				if v.Kind() == trace.ValueUint64 {
					sink += v.Uint64()
				} else {
					sink += uint64(len(v.String()))
				}
			}
		}
	})
	secs := time.Since(start).Seconds()
	b := []byte(`{"events":`)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"seconds":`...)
	b = strconv.AppendFloat(b, secs, 'f', 6, 64)
	b = append(b, `,"checksum":`...)
	b = strconv.AppendUint(b, sink, 10)
	b = append(b, "}\n"...)
	out.Write(b)
	if err != nil {
		writeError(out, err)
		return 1
	}
	return 0
}

func appendEvent(b []byte, ev *trace.Event) []byte {
	kind := ev.Kind()
	b = append(b, `{"kind":"`...)
	b = append(b, kind.String()...)
	b = append(b, `","t":`...)
	b = strconv.AppendInt(b, int64(ev.Time()), 10)
	b = append(b, `,"g":`...)
	b = strconv.AppendInt(b, int64(ev.Goroutine()), 10)
	b = append(b, `,"p":`...)
	b = strconv.AppendInt(b, int64(ev.Proc()), 10)
	b = append(b, `,"m":`...)
	b = strconv.AppendInt(b, int64(ev.Thread()), 10)
	if stk := ev.Stack(); stk != trace.NoStack {
		b = append(b, `,"stack":`...)
		b = appendStack(b, stk)
	}
	switch kind {
	case trace.EventSync:
		s := ev.Sync()
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, int64(s.N), 10)
		if c := s.ClockSnapshot; c != nil {
			b = append(b, `,"clock":{"trace":`...)
			b = strconv.AppendInt(b, int64(c.Trace), 10)
			b = append(b, `,"wall":`...)
			b = strconv.AppendInt(b, c.Wall.UnixNano(), 10)
			b = append(b, `,"mono":`...)
			b = strconv.AppendUint(b, c.Mono, 10)
			b = append(b, '}')
		}
		if len(s.ExperimentalBatches) > 0 {
			names := make([]string, 0, len(s.ExperimentalBatches))
			for name := range s.ExperimentalBatches {
				names = append(names, name)
			}
			slices.Sort(names)
			b = append(b, `,"expbatches":{`...)
			for i, name := range names {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, name)
				b = append(b, `:[`...)
				for j, batch := range s.ExperimentalBatches[name] {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"thread":`...)
					b = strconv.AppendInt(b, int64(batch.Thread), 10)
					b = append(b, `,"data":"`...)
					b = hex.AppendEncode(b, batch.Data)
					b = append(b, `"}`...)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
	case trace.EventMetric:
		m := ev.Metric()
		b = append(b, `,"name":`...)
		b = appendString(b, m.Name)
		b = append(b, `,"value":`...)
		b = appendValue(b, m.Value)
		if m.Value.Kind() != trace.ValueUint64 {
			b = append(b, `,"vkind":`...)
			b = appendString(b, valueKindName(m.Value.Kind()))
		}
	case trace.EventLabel:
		l := ev.Label()
		b = append(b, `,"label":`...)
		b = appendString(b, l.Label)
		b = appendResource(b, l.Resource)
	case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
		r := ev.Range()
		b = append(b, `,"name":`...)
		b = appendString(b, r.Name)
		b = appendResource(b, r.Scope)
		if kind == trace.EventRangeEnd {
			if attrs := ev.RangeAttributes(); len(attrs) > 0 {
				b = append(b, `,"attrs":[`...)
				for i, a := range attrs {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"name":`...)
					b = appendString(b, a.Name)
					b = append(b, `,"value":`...)
					b = appendValue(b, a.Value)
					b = append(b, '}')
				}
				b = append(b, ']')
			}
		}
	case trace.EventTaskBegin, trace.EventTaskEnd:
		t := ev.Task()
		b = append(b, `,"task":`...)
		b = strconv.AppendUint(b, uint64(t.ID), 10)
		b = append(b, `,"parent":`...)
		b = strconv.AppendUint(b, uint64(t.Parent), 10)
		b = append(b, `,"type":`...)
		b = appendString(b, t.Type)
	case trace.EventRegionBegin, trace.EventRegionEnd:
		r := ev.Region()
		b = append(b, `,"task":`...)
		b = strconv.AppendUint(b, uint64(r.Task), 10)
		b = append(b, `,"type":`...)
		b = appendString(b, r.Type)
	case trace.EventLog:
		l := ev.Log()
		b = append(b, `,"task":`...)
		b = strconv.AppendUint(b, uint64(l.Task), 10)
		b = append(b, `,"category":`...)
		b = appendString(b, l.Category)
		b = append(b, `,"message":`...)
		b = appendString(b, l.Message)
	case trace.EventStateTransition:
		st := ev.StateTransition()
		b = appendResource(b, st.Resource)
		var from, to string
		switch st.Resource.Kind {
		case trace.ResourceGoroutine:
			f, t := st.Goroutine()
			from, to = f.String(), t.String()
		case trace.ResourceProc:
			f, t := st.Proc()
			from, to = f.String(), t.String()
		}
		b = append(b, `,"from":`...)
		b = appendString(b, from)
		b = append(b, `,"to":`...)
		b = appendString(b, to)
		b = append(b, `,"reason":`...)
		b = appendString(b, st.Reason)
		if st.Stack != trace.NoStack {
			b = append(b, `,"tstack":`...)
			b = appendStack(b, st.Stack)
		}
	case trace.EventExperimental:
		x := ev.Experimental()
		b = append(b, `,"name":`...)
		b = appendString(b, x.Name)
		b = append(b, `,"experiment":`...)
		b = appendString(b, x.Experiment)
		b = append(b, `,"args":{`...)
		for i, name := range x.Args {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, name)
			b = append(b, ':')
			b = appendValue(b, x.ArgValue(i))
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendResource appends "resource" (kind name) and "rid" (-1 for None).
func appendResource(b []byte, r trace.ResourceID) []byte {
	b = append(b, `,"resource":"`...)
	b = append(b, r.Kind.String()...)
	b = append(b, `","rid":`...)
	var id int64 = -1
	switch r.Kind {
	case trace.ResourceGoroutine:
		id = int64(r.Goroutine())
	case trace.ResourceProc:
		id = int64(r.Proc())
	case trace.ResourceThread:
		id = int64(r.Thread())
	}
	return strconv.AppendInt(b, id, 10)
}

func appendStack(b []byte, s trace.Stack) []byte {
	b = append(b, '[')
	first := true
	for f := range s.Frames() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '[')
		b = strconv.AppendUint(b, f.PC, 10)
		b = append(b, ',')
		b = appendString(b, f.Func)
		b = append(b, ',')
		b = appendString(b, f.File)
		b = append(b, ',')
		b = strconv.AppendUint(b, f.Line, 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// appendValue appends a uint64 Value as a JSON integer, a string Value as a
// JSON string, and anything else as null.
func appendValue(b []byte, v trace.Value) []byte {
	switch v.Kind() {
	case trace.ValueUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case trace.ValueString:
		return appendString(b, v.String())
	}
	return append(b, "null"...)
}

func valueKindName(k trace.ValueKind) string {
	switch k {
	case trace.ValueBad:
		return "Bad"
	case trace.ValueUint64:
		return "Uint64"
	case trace.ValueString:
		return "String"
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// appendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD, as
// with encoding/json).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
