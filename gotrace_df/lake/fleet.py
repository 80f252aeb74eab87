"""The fleet views: the single-trace views over every trace of a lake, as SQL
that DuckDB runs over the fleet tables (:mod:`gotrace_df.lake.rows`), out of
core.

``by="trace"`` gives each trace's view, with a ``trace_id`` column: one
trace's rows are its single-trace view number for number. ``by=None`` gives
one fleet-wide view: sums and counts over all traces, and percentiles taken
over all their waits and durations at once (``quantile_disc``: the observed
value of rank ``max(ceil(n * q), 1)``, the single-trace views' definition),
never averaged from per-trace percentiles. Fleet-wide rows are keyed by names
and frames, not by per-trace IDs or PCs: the same PC is different code in
different binaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from gotrace_df.lake.rows import QUANTILES, WAIT_STATES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "By",
    "blocking_profile",
    "goroutine_analysis",
    "summary",
    "user_regions",
    "user_tasks",
]

By = Literal["trace"] | None

_QS = "[" + ", ".join(str(q) for _, q in QUANTILES) + "]"
_GOROUTINE_SUMS = (
    "exec_ns",
    "total_ns",
    "sched_wait_ns",
    "syscall_ns",
    "syscall_block_ns",
    "block_ns",
    "unknown_ns",
)


def _keys(by: By, *names: str) -> list[str]:
    """The grouping columns: ``trace_id`` first when ``by == "trace"``."""
    if by not in ("trace", None):
        raise ValueError(f'by must be "trace" or None, not {by!r}')
    return (["trace_id"] if by == "trace" else []) + list(names)


def _stats(value: str, prefix: str, where: str = "TRUE") -> str:
    """SQL for the observed percentiles and maximum of ``value`` where ``where``
    holds, as columns ``<prefix>p50_ns`` ... ``<prefix>max_ns``."""
    qs = f"quantile_disc({value}, {_QS}) FILTER (WHERE {where})"
    cols = [f"{qs}[{i}] AS {prefix}{name}_ns" for i, (name, _) in enumerate(QUANTILES, 1)]
    return ", ".join([*cols, f"max({value}) FILTER (WHERE {where}) AS {prefix}max_ns"])


def _sum(col: str, where: str = "TRUE") -> str:
    """An exact int64 sum (DuckDB sums BIGINT as HUGEINT)."""
    return f"sum({col}) FILTER (WHERE {where})::BIGINT"


def _frame(con: Any, query: str, nullable: tuple[str, ...] = ()) -> pd.DataFrame:
    """``query``'s result as the single-trace views type it: integers int64
    (``nullable`` ones Int64)."""
    table: pa.Table = con.sql(query).to_arrow_table()
    df: pd.DataFrame = table.to_pandas()
    for name, typ in zip(table.column_names, table.schema.types):
        if pa.types.is_integer(typ):
            signed = pa.types.is_signed_integer(typ)
            width = ("Int64" if signed else "UInt64") if name in nullable else typ.to_pandas_dtype()
            df[name] = df[name].astype(width)
    return df


def goroutine_analysis(con: Any, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.goroutine_analysis` per trace or fleet-wide (then with
    ``traces``, the number of traces a group is in)."""
    keys = _keys(by, "name")
    k = ", ".join(keys)
    per = "PARTITION BY trace_id" if by == "trace" else ""
    waits = ", ".join(_stats("dur_ns", f"{s}_", f"state = '{s}'") for s in WAIT_STATES)
    # Fleet-wide, how many traces each group is in.
    traces = ("", "") if by == "trace" else ("count(DISTINCT trace_id) AS traces, ", "traces, ")
    order = "trace_id, " if by == "trace" else ""
    query = f"""
        WITH g AS (
            SELECT {k}, count(*) AS count, {traces[0]}
                {", ".join(f"{_sum(c)} AS {c}" for c in _GOROUTINE_SUMS)}
            FROM goroutine_times GROUP BY {k}
        ), w AS (
            SELECT {k}, {waits} FROM goroutine_waits GROUP BY {k}
        )
        SELECT {k}, count, {traces[1]}exec_ns,
            CASE WHEN sum(exec_ns) OVER ({per}) > 0
                 THEN exec_ns::DOUBLE / (sum(exec_ns) OVER ({per}))::DOUBLE END AS share,
            {", ".join(_GOROUTINE_SUMS[1:])}, w.* EXCLUDE ({k})
        FROM g LEFT JOIN w USING ({k})
        ORDER BY {order}exec_ns DESC, name
    """
    pct = tuple(f"{s}_{n}_ns" for s in WAIT_STATES for n in [*(q for q, _ in QUANTILES), "max"])
    return _frame(con, query, nullable=pct)


def blocking_profile(con: Any, kind: str, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.blocking_profile` per trace or fleet-wide.

    Fleet-wide, stacks with the same frames (function, file, line from the
    innermost out) are one row, whatever their PCs and stack IDs in each
    trace; its frames' ``pc`` are then location numbers, one per distinct
    frame, so that :func:`gotrace_df.to_pprof` keeps different code apart.
    The per-interval percentiles are per trace only.
    """
    from gotrace_df.views.profiles import PROFILE_KINDS

    if kind not in PROFILE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PROFILE_KINDS)} (got {kind!r})")
    _keys(by)
    if by == "trace":
        return _frame(
            con,
            f"""SELECT * EXCLUDE (kind) FROM blocking_stacks WHERE kind = '{kind}'
                ORDER BY trace_id, delay_ns DESC, count DESC, stack_id""",
        )
    df = _frame(
        con,
        f"""
        SELECT count(DISTINCT trace_id) AS traces, {_sum("count")} AS count,
            {_sum("delay_ns")} AS delay_ns, key AS frames
        FROM (
            SELECT trace_id, count, delay_ns, list_transform(frames,
                lambda f: {{'function': f.function, 'file': f.file, 'line': f.line}}) AS key
            FROM blocking_stacks WHERE kind = '{kind}'
        )
        GROUP BY key ORDER BY delay_ns DESC, count DESC, key::VARCHAR
        """,
    )
    location: dict[tuple[str, str, int], int] = {}
    frames = []
    for stack in df["frames"]:
        frames.append(
            [
                {
                    "pc": location.setdefault(
                        (f["function"], f["file"], f["line"]), len(location) + 1
                    )
                }
                | f
                for f in stack
            ]
        )
    df["frames"] = frames
    empty: dict[str, Any] = {"function": "", "file": "", "line": 0}
    leaf = [s[0] if len(s) else empty for s in frames]
    df.insert(3, "function", [f["function"] for f in leaf])
    df.insert(4, "file", [f["file"] for f in leaf])
    df.insert(5, "line", [int(f["line"]) for f in leaf])
    df["line"] = df["line"].astype("int64")
    return df


def user_tasks(con: Any, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.user_tasks` per trace or fleet-wide."""
    k = ", ".join(_keys(by, "type"))
    order = ("min", "p50", "p90", "p99", "max")
    return _frame(
        con,
        f"""
        SELECT {k}, count(*) AS count, count(*) FILTER (WHERE complete) AS complete,
            {_sum("duration_ns", "complete")} AS total_ns,
            min(duration_ns) FILTER (WHERE complete) AS min_ns,
            {_stats("duration_ns", "", "complete")}
        FROM task_durations GROUP BY {k} ORDER BY {k}
        """,
        nullable=tuple(f"{n}_ns" for n in ("total", *order)),
    )


def user_regions(con: Any, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.user_regions` per trace (grouped by type and PC) or
    fleet-wide (by type and frame: function, file, line)."""
    frame = ("pc", "function", "file", "line") if by == "trace" else ("function", "file", "line")
    k = ", ".join(_keys(by, "type", *frame))
    return _frame(
        con,
        f"""
        SELECT {k}, count(*) AS count, {_sum("duration_ns")} AS total_ns,
            min(duration_ns) AS min_ns, {_stats("duration_ns", "")}
        FROM region_durations GROUP BY {k} ORDER BY {k}
        """,
    )


#: Summary metrics that are a maximum over the trace (the others are sums).
_SUMMARY_MAX = ("stop-the-world max", "peak heap objects", "GOMAXPROCS max")
#: The summary's sections, in its order.
_SECTIONS = ("trace", "goroutines", "scheduling", "gc", "heap", "blocking", "user")


def summary(con: Any, by: By, top_stacks: int = 3) -> pd.DataFrame:
    """:func:`gotrace_df.summary` per trace, or fleet-wide: ``traces`` (how
    many), the maxima of the trace maxima (worst pause, peak heap,
    GOMAXPROCS), scheduler latency percentiles over every runnable wait, each
    blocking profile's total and its ``top_stacks`` stacks of the fleet-wide
    profile, and the sums of every other figure (durations, counts, times)."""
    import pandas as pd

    if _keys(by) == ["trace_id"]:
        return _frame(
            con,
            "SELECT trace_id, section, metric, value, unit FROM summary_rows "
            "ORDER BY trace_id, position",
        )
    maxed = ", ".join(f"'{m}'" for m in _SUMMARY_MAX)
    # (section, metric, value, unit, position: where the single view puts it)
    rows: list[tuple[str, str, int, str, float]] = [
        (section, metric, int(value), unit, float(position))
        for section, metric, value, unit, position in con.sql(
            f"""
            SELECT section, metric,
                coalesce(CASE WHEN metric IN ({maxed}) THEN max(value)
                              ELSE {_sum("value", "value >= 0")} END, -1),
                unit, min(position)
            FROM summary_rows
            WHERE metric NOT LIKE 'sched latency %' AND NOT regexp_matches(metric, ' #[0-9]+: ')
            GROUP BY section, metric, unit
            """
        ).fetchall()
    ]
    at = {metric: position for _, metric, _, _, position in rows}
    traces = con.sql("SELECT count(DISTINCT trace_id) FROM summary_rows").fetchall()[0][0]
    rows.append(("trace", "traces", int(traces), "count", -1.0))
    lat = con.sql(
        f"SELECT count(*), {_stats('dur_ns', '')} FROM goroutine_waits WHERE state = 'sched_wait'"
    ).fetchall()[0]
    if lat[0]:
        for i, (name, value) in enumerate(zip(["p50", "p90", "p99", "max"], lat[1:]), 1):
            where = at["runnable waits"] + i / 10
            rows.append(("scheduling", f"sched latency {name}", int(value), "ns", where))
    for kind in ("sched", "sync", "net", "syscall"):
        prof = blocking_profile(con, kind, None).head(top_stacks)
        for i, (fn, file, line, delay) in enumerate(
            zip(prof["function"], prof["file"], prof["line"], prof["delay_ns"]), 1
        ):
            label = f"{fn} {str(file).rsplit('/', 1)[-1]}:{line}" if fn else "(no stack)"
            where = at[f"{kind} total delay"] + i / 10
            rows.append(("blocking", f"{kind} #{i}: {label}", int(delay), "ns", where))
    rows.sort(key=lambda r: (_SECTIONS.index(r[0]), r[4]))
    return pd.DataFrame([r[:4] for r in rows], columns=["section", "metric", "value", "unit"])
