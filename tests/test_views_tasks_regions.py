"""User-defined tasks and regions against the real `go tool trace` of each Go release.

For corpus traces of every Go version 1.22-1.27, `go tool trace` of the same
release serves /usertasks, /usertask?type=... (with its filters: complete,
latmin/latmax from the histogram links, logtext), /userregions and
/userregion?type=&pc= (also with latmin/latmax); our views, with ``go_version``
of that release, must show the same numbers.

Precision: durations, histogram bounds and region breakdowns are Go Duration
strings (exact); /usertask's "When" and "Elapsed" columns are `%.9f` seconds
(exact to the ns). So every time is compared to the nanosecond. Rows whose
sort key ties are in Go map order on the pages (tasks of equal duration,
regions of equal total time), so those are matched as sets and only the order
of the sort keys is checked.

One cmd/trace quirk we deliberately do not copy: its histogram table starts at
the first bucket it ever filled when that was bucket 0 (a duration of 0 or
1 ns) followed by a larger one (`TimeHistogram.Add` resets MinBucket while
MaxBucket is 0); ours starts at the smallest bucket used. The test checks the
rows the page shows and says so if the quirk hides a bucket (no corpus trace
has such a duration).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import numpy as np
import pandas as pd
import pytest
from cmdtrace_pages import (
    Histogram,
    parse_duration,
    region_page,
    userregions_page,
    usertask_page,
    usertasks_page,
)
from gotool import CORPUS, GoToolTrace, case_id, corpus_cases, served

import gotrace_df as gt

SCENARIOS = ["tasks", "example", "sync", "syscall", "net", "gc", "preexisting"]
EXTRA = {
    "1.23": ["generations"],
    "1.25": ["flightrec"],
    "1.26": ["gotest"],
    "1.27": ["churn"],
    "v1": ["user_task_region_1_11_good", "user_task_region_1_21_good"],
}

CASES = corpus_cases(SCENARIOS, EXTRA)

_STAT = {
    "Execution time": "exec_ns",
    "Sched wait time": "sched_wait_ns",
    "Syscall execution time": "syscall_ns",
    "Block time (syscall)": "syscall_block_ns",
    "Unknown time": "unknown_ns",
}


@pytest.fixture(scope="module", params=CASES, ids=[case_id(p) for p in CASES])
def case(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from served(request.param)


def _check_histogram(page: Histogram | None, ours: pd.DataFrame, what: str) -> None:
    if page is None:
        assert ours.empty or int(ours["count"].sum()) == 0, what
        return
    mine = list(zip(ours["lower_ns"].tolist(), ours["count"].tolist(), strict=True))
    if mine != page.buckets and ours["bucket"].min() == 0:
        # cmd/trace's MinBucket quirk (module docstring): its table starts later.
        mine = [b for b in mine if b[0] >= page.buckets[0][0]]
    assert mine == page.buckets, what
    assert page.last == int(ours["upper_ns"].iloc[-1]), what


# -- tasks ----------------------------------------------------------------------


def test_usertasks_page(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    page = usertasks_page(server.text("/usertasks"))
    ours = gt.user_tasks(tr, go_version=version)
    assert list(ours["type"]) == sorted(page)
    hist = gt.user_task_histogram(tr, go_version=version)
    for row in ours.itertuples():
        count, h = page[row.type]
        assert count == row.count, row.type
        _check_histogram(h, hist[hist["type"] == row.type], row.type)


def _check_usertask(
    server: GoToolTrace, tr: gt.Trace, version: str, query: str, **filters: object
) -> int:
    """/usertask?query against user_task_details + user_task_events with the
    same filters; returns how many tasks the page lists."""
    page = usertask_page(server.text("/usertask?" + query))
    details = gt.user_task_details(tr, go_version=version, **filters)  # type: ignore[arg-type]
    events = gt.user_task_events(tr, go_version=version, **filters)  # type: ignore[arg-type]
    assert sorted(b.task_id for b in page) == sorted(details["task_id"]), query
    durations = [b.duration_ns for b in page]
    assert durations == sorted(durations), query
    by_task = {int(k): g for k, g in events.groupby("task_id", sort=False)}
    d = details.set_index("task_id")
    for b in page:
        mine = d.loc[b.task_id]
        assert int(mine["duration_ns"]) == b.duration_ns, (query, b.task_id)
        assert int(mine["since_start_ns"]) == b.when_ns, (query, b.task_id)
        assert bool(mine["complete"]) == b.complete, (query, b.task_id)
        ev = by_task.get(b.task_id)
        rows = []
        if ev is not None:
            for e in ev.itertuples():
                goid = "-1" if pd.isna(e.goid) else str(int(e.goid))
                rows.append((int(e.since_start_ns), int(e.elapsed_ns), goid, e.what))
        assert rows == b.events, (query, b.task_id)
    return len(page)


def test_usertask_pages(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    types = gt.user_tasks(tr, go_version=version)["type"].tolist()
    for t in types:
        q = f"type={quote(t, safe='')}"
        _check_usertask(server, tr, version, q, type=t)
        _check_usertask(server, tr, version, q + "&complete=1", type=t, complete=True)
        _check_usertask(server, tr, version, q + "&complete=0", type=t, complete=False)


def test_usertask_latency_links(case) -> None:  # type: ignore[no-untyped-def]
    """The histogram's links (latmin/latmax as Go durations; complete=true is
    ignored by the handler, the latency filters imply complete)."""
    path, version, tr, server = case
    page = usertasks_page(server.text("/usertasks"))
    links = [href for _c, h in page.values() if h is not None for href in h.links]
    n = 0
    for href in links:
        query = urlsplit(href).query
        qs = parse_qs(query, keep_blank_values=True)
        lo = parse_duration(unquote(qs["latmin"][0]))
        hi = parse_duration(unquote(qs["latmax"][0]))
        n += _check_usertask(
            server, tr, version, query, type=qs["type"][0], latmin_ns=lo, latmax_ns=hi
        )
    # Every non-empty bucket's link lists at least its own tasks.
    assert n >= len(links)


def test_usertask_logtext(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    logs = tr.to_pandas("logs")
    texts = ["e", "request", "region", "zzz-no-match"]
    if len(logs):
        texts.append(str(logs["message"].iloc[0])[:4])
    for text in texts:
        _check_usertask(server, tr, version, f"logtext={quote(text, safe='')}", logtext=text)


# -- regions --------------------------------------------------------------------


def test_userregions_page(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    page = userregions_page(server.text("/userregions"))
    ours = gt.user_regions(tr, go_version=version)
    hist = gt.user_region_histogram(tr, go_version=version)
    assert len(page) == len(ours)
    for p, r in zip(page, ours.itertuples(), strict=True):
        assert (p.type, p.pc, p.function, p.file, p.line) == (
            r.type,
            r.pc,
            r.function,
            r.file,
            r.line,
        )
        assert p.count == r.count
        h = hist[(hist["type"] == r.type) & (hist["pc"] == r.pc)]
        _check_histogram(p.histogram, h, f"{r.type}@{r.pc:x}")


def _region_rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:  # type: ignore[type-arg]
    """Our rows as the page prints them: (goid, task or "", total, *columns)."""
    cols = dict(_STAT)
    for c in df.columns:
        if c.startswith("block_ns["):
            reason = c[len("block_ns[") : -1]
            assert reason != "syscall"
            cols[f"Block time ({reason})"] = c
    out = []
    for row in df.to_dict("records"):
        task = "" if pd.isna(row["task_id"]) or row["task_id"] == 0 else str(int(row["task_id"]))
        out.append(
            (
                str(int(row["goid"])),
                task,
                int(row["total_ns"]),
                *(int(row[cols[c]]) for c in columns),
            )
        )
    return out


def _check_userregion(
    server: GoToolTrace, tr: gt.Trace, version: str, query: str, **filters: object
) -> None:
    bd, rg = region_page(server.text("/userregion?" + query))
    ours = gt.user_region_stats(tr, go_version=version, **filters)  # type: ignore[arg-type]
    stat_names = {
        *_STAT,
        *(f"Block time ({c[9:-1]})" for c in ours.columns if c.startswith("block_ns[")),
    }
    assert sorted(bd.columns) == sorted(stat_names), query
    page_rows = [
        (r[0], r[1], parse_duration(r[2]), *(parse_duration(x) for x in r[3:])) for r in bd.rows
    ]
    assert sorted(page_rows) == sorted(_region_rows(ours, bd.columns)), query
    totals = [r[2] for r in page_rows]
    assert totals == sorted(totals, reverse=True), query
    # Special ranges: regions with any range time.
    rcols = [c for c in ours.columns if c.startswith("range_ns[")]
    assert sorted(rg.columns) == sorted(c[len("range_ns[") : -1] for c in rcols), query
    has = ours[ours[rcols].sum(axis=1) != 0] if rcols else ours.iloc[:0]
    mine = sorted(
        (
            str(int(r["goid"])),
            "" if pd.isna(r["task_id"]) or r["task_id"] == 0 else str(int(r["task_id"])),
            int(r["total_ns"]),
            *(int(r[f"range_ns[{c}]"]) for c in rg.columns),
        )
        for _, r in has.iterrows()
    )
    theirs = sorted(
        (r[0], r[1], parse_duration(r[2]), *(parse_duration(x) for x in r[3:])) for r in rg.rows
    )
    assert mine == theirs, query


def test_userregion_pages(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    groups = gt.user_regions(tr, go_version=version)
    for g in groups.itertuples():
        q = f"type={quote(g.type, safe='')}&pc={int(g.pc):x}"
        _check_userregion(server, tr, version, q, type=g.type, pc=int(g.pc))


def test_userregion_latency_links(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    page = userregions_page(server.text("/userregions"))
    for grp in page:
        if grp.histogram is None:
            continue
        for href in grp.histogram.links[:3]:
            query = urlsplit(href).query
            qs = parse_qs(query, keep_blank_values=True)
            _check_userregion(
                server,
                tr,
                version,
                query,
                type=qs["type"][0],
                pc=int(qs["pc"][0], 16),
                latmin_ns=parse_duration(qs["latmin"][0]),
                latmax_ns=parse_duration(qs["latmax"][0]),
            )


def test_windows() -> None:
    """A window covering the trace changes nothing; a part of it keeps the
    tasks and regions that overlap it."""
    tr = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    a, b = tr.start_ns, tr.end_ns
    pd.testing.assert_frame_equal(gt.user_tasks(tr), gt.user_tasks(tr, start_ns=a, end_ns=b))
    pd.testing.assert_frame_equal(gt.user_regions(tr), gt.user_regions(tr, start_ns=a, end_ns=b))
    m = a + (b - a) // 2
    part = gt.user_task_details(tr, start_ns=m, end_ns=b)
    whole = gt.user_task_details(tr)
    lo = whole["start_ns"].fillna(a)
    hi = whole["end_ns"].fillna(b)
    assert sorted(part["task_id"]) == sorted(whole["task_id"][(lo <= b) & (hi >= m)])
    regs = gt.user_region_stats(tr, start_ns=m, end_ns=b)
    assert (regs["end_ns"].fillna(b) >= m).all()
    assert len(regs) < len(gt.user_region_stats(tr))


def test_region_frame_versions() -> None:
    """Go 1.22/1.23 group regions by the leaf frame of the RegionBegin stack,
    1.24+ by the outermost: the same regions, grouped under different PCs."""
    tr = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    old = gt.user_regions(tr, go_version="1.23")
    new = gt.user_regions(tr, go_version="1.24")
    assert old["count"].sum() == new["count"].sum()
    assert set(old["function"]) != set(new["function"])


_HIST_GO = """package main

import (
	"fmt"
	"math"
	"time"
)

// cmd/trace's TimeHistogram (internal/trace/traceviewer/histogram.go).
var logDiv = math.Log(math.Pow(10, 1.0/5))

func main() {
	var d int64
	for {
		if _, err := fmt.Scan(&d); err != nil {
			return
		}
		b := 0
		if d > 0 {
			b = int(math.Log(float64(d)) / logDiv)
		}
		fmt.Println(d, b, int64(time.Duration(math.Exp(float64(b)*logDiv))))
	}
}
"""


def test_histogram_buckets_match_go(tmp_path: Path) -> None:
    """Our buckets and bucket bounds against Go's float64 arithmetic, around
    every bound below 10^12 ns (Go puts exactly 1 µs in the bucket *below* the
    one labelled 1µs, for one)."""
    from gotool import go_run

    bounds = gt.latency_histogram(np.array([1, 10**12]))["lower_ns"].to_numpy()
    probe = np.unique(np.concatenate([bounds + k for k in (-2, -1, 0, 1, 2)]))
    probe = probe[probe >= 0]
    out = go_run(_HIST_GO, " ".join(map(str, probe)), tmp_path).split()
    go = np.array(out, dtype=np.int64).reshape(-1, 3)
    from gotrace_df.views._common import bucket_min, bucket_of

    np.testing.assert_array_equal(go[:, 0], probe)
    np.testing.assert_array_equal(bucket_of(probe), go[:, 1])
    np.testing.assert_array_equal(bucket_min(bucket_of(probe)), go[:, 2])


_EXIT_GO = """package main

import (
	"context"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	var path string
	fmt.Scan(&path)
	f, _ := os.Create(path)
	trace.Start(f)
	ctx, task := trace.NewTask(context.Background(), "outer\\t\\"q\\"")
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, t := trace.NewTask(ctx, "inner")
			trace.Log(c, "", "plain \\x01")
			trace.Log(c, "cat", "with category")
			trace.StartRegion(c, "left open")
			r := trace.StartRegion(c, "closed")
			time.Sleep(time.Millisecond)
			r.End()
			if i != 0 {
				t.End()
			}
		}(i)
	}
	wg.Wait()
	trace.Log(ctx, "c", "")
	task.End()
	trace.Stop()
	f.Close()
}
"""


@pytest.mark.parametrize("version", ["1.26", "1.27"])
def test_usertask_region_closed_by_exit(tmp_path: Path, version: str) -> None:
    """Regions their goroutine never ends (closed by its exit: the page shows
    the goroutine's transition), logs with and without a category and a task
    type that needs quoting, on the /usertask page of the same release (no
    corpus trace has a region closed by an exit)."""
    from gotool import go_run

    path = tmp_path / "exit.trace"
    go_run(_EXIT_GO, str(path), tmp_path, version)
    tr = gt.read_trace(path)
    events = gt.user_task_events(tr, go_version=version)
    assert (events["kind"] == "StateTransition").sum() == 3
    with GoToolTrace(path, version) as server:
        assert _check_usertask(server, tr, version, "type=inner", type="inner") == 3
        outer = 'outer\t"q"'
        query = "type=" + quote(outer, safe="")
        assert _check_usertask(server, tr, version, query, type=outer) == 1


def test_user_task_events_needs_a_parsed_trace() -> None:
    """The other task pages take a trace file; the events page reads the
    events table, so a file is refused before any parse."""
    with pytest.raises(TypeError, match="parsed trace"):
        gt.user_task_events(gt.example_trace())
