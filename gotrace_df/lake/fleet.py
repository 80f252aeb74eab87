"""The fleet views: the single-trace views over every trace of a lake, as SQL
that DuckDB runs over the fleet tables (:mod:`gotrace_df.lake.rows`), out of
core.

``by="trace"`` gives each trace's view, with a ``trace_id`` column: one
trace's rows are its single-trace view number for number. ``by=None`` gives
one fleet-wide view: sums and counts over all traces, and percentiles taken
over all their waits and durations at once (the observed value of rank
``max(ceil(n * q), 1)``, the single-trace views' definition, found in the
running count of each distinct duration), never averaged from per-trace
percentiles. Fleet-wide rows are keyed by names
and frames, not by per-trace IDs or PCs: the same PC is different code in
different binaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from gotrace_df.lake.rows import FLEET_SCHEMAS, GOROUTINE_TIMES, QUANTILES, WAIT_STATES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "By",
    "blocking_profile",
    "distribution",
    "goroutine_analysis",
    "summary",
    "user_regions",
    "user_tasks",
]

By = Literal["trace"] | None


def _keys(by: By, *names: str) -> list[str]:
    """The grouping columns: ``trace_id`` first when ``by == "trace"``."""
    if by not in ("trace", None):
        raise ValueError(f'by must be "trace" or None, not {by!r}')
    return (["trace_id"] if by == "trace" else []) + list(names)


def distribution(table: str, keys: list[str], value: str, weight: str, where: str = "TRUE") -> str:
    """SQL: per group of ``keys`` (one group without), over the rows of
    ``table`` where ``where`` holds, each ``value`` counted ``weight`` times:
    ``count``, ``total_ns``, ``min_ns``, ``p50_ns`` ... ``max_ns``.

    A percentile is the smallest value whose running count reaches rank
    ``max(ceil(count * q), 1)``, computed in float64 as numpy and the core
    compute it: numpy's ``inverted_cdf``, the single-trace views' definition.
    """
    k = "".join(f"{c}, " for c in keys)
    part = f"PARTITION BY {', '.join(keys)}" if keys else ""
    picks = ", ".join(
        f"min({value}) FILTER (WHERE cum >= greatest(ceil(n::DOUBLE * {q}::DOUBLE), 1)) "
        f"AS {name}_ns"
        for name, q in QUANTILES
    )
    group = f"GROUP BY {', '.join(keys)}" if keys else ""
    return f"""
        SELECT {k}any_value(n)::BIGINT AS count, sum({value} * {weight})::BIGINT AS total_ns,
            min({value}) AS min_ns, {picks}, max({value}) AS max_ns
        FROM (
            SELECT {k}{value}, {weight},
                sum({weight}) OVER ({part} ORDER BY {value}
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
                sum({weight}) OVER ({part}) AS n
            FROM (
                SELECT {k}{value}, sum({weight}) AS {weight} FROM {table}
                WHERE {where} GROUP BY {k}{value}
            )
        )
        {group}
    """


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


def _stored(con: Any, table: str, nullable: tuple[str, ...] = ()) -> pd.DataFrame:
    """Each trace's single-trace view, stored at conversion as fleet table
    ``table``: its rows in the view's order, after ``trace_id``."""
    cols = ", ".join(c for c in FLEET_SCHEMAS[table].names if c != "position")
    query = f"SELECT trace_id, {cols} FROM {table} ORDER BY trace_id, position"
    return _frame(con, query, nullable)


def _fleet_groups(rows: str, counted: str, keys: str) -> str:
    """SQL of two CTEs: ``ids``, each fleet-wide group of ``keys`` (the
    stored view rows ``rows``) numbered ``gid``, and ``coded``, the counted
    rows of ``counted`` (which name their group by ``position``) with their
    ``gid`` in place of trace and position."""
    return f"""
        ids AS (
            SELECT trace_id, position, {keys},
                dense_rank() OVER (ORDER BY {keys}) AS gid
            FROM {rows}
        ),
        coded AS (
            SELECT ids.gid, c.* EXCLUDE (trace_id, position)
            FROM {counted} c JOIN ids USING (trace_id, position)
        )
    """


def goroutine_analysis(con: Any, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.goroutine_analysis` per trace or fleet-wide (then with
    ``traces``, the number of traces a group is in)."""
    stats = [*(n for n, _ in QUANTILES), "max"]
    pct = tuple(f"{s}_{n}_ns" for s in WAIT_STATES for n in stats)
    if _keys(by) == ["trace_id"]:
        return _stored(con, "goroutine_analysis_rows", nullable=pct)
    waits = [f"{s}.{n}_ns AS {s}_{n}_ns" for s in WAIT_STATES for n in stats]
    wait_stats = {
        s: distribution("coded", ["gid"], "dur_ns", "waits", f"state = '{s}'") for s in WAIT_STATES
    }
    query = f"""
        WITH {_fleet_groups("goroutine_analysis_rows", "goroutine_waits", "name")},
        names AS (SELECT DISTINCT gid, name FROM ids),
        g AS (
            SELECT name, {_sum("count")} AS count, count(DISTINCT trace_id) AS traces,
                {", ".join(f"{_sum(c)} AS {c}" for c in GOROUTINE_TIMES)}
            FROM goroutine_analysis_rows GROUP BY name
        ),
        {", ".join(f"{s} AS (SELECT * FROM ({wait_stats[s]}) JOIN names USING (gid))" for s in WAIT_STATES)}
        SELECT name, g.count, traces, g.exec_ns,
            CASE WHEN sum(g.exec_ns) OVER () > 0
                 THEN g.exec_ns::DOUBLE / (sum(g.exec_ns) OVER ())::DOUBLE END AS share,
            {", ".join(f"g.{c}" for c in GOROUTINE_TIMES[1:])}, {", ".join(waits)}
        FROM g {" ".join(f"LEFT JOIN {s} USING (name)" for s in WAIT_STATES)}
        ORDER BY exec_ns DESC, name
    """
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
    stats = ("total", "min", *(n for n, _ in QUANTILES), "max")
    nullable = tuple(f"{n}_ns" for n in stats)
    if _keys(by) == ["trace_id"]:
        return _stored(con, "user_tasks_rows", nullable)
    return _frame(
        con,
        f"""
        WITH t AS (SELECT type, {_sum("count")} AS count FROM user_tasks_rows GROUP BY type),
        d AS ({distribution("task_durations", ["type"], "duration_ns", "tasks", "complete")})
        SELECT type, t.count, coalesce(d.count, 0) AS complete,
            {", ".join(f"{n}_ns" for n in stats)}
        FROM t LEFT JOIN d USING (type) ORDER BY type
        """,
        nullable,
    )


def user_regions(con: Any, by: By) -> pd.DataFrame:
    """:func:`gotrace_df.user_regions` per trace (grouped by type and PC) or
    fleet-wide (by type and frame: function, file, line)."""
    if _keys(by) == ["trace_id"]:
        return _stored(con, "user_regions_rows")
    k = "type, function, file, line"
    stats = ("min", *(n for n, _ in QUANTILES), "max")
    return _frame(
        con,
        f"""
        WITH {_fleet_groups("user_regions_rows", "region_durations", k)},
        frames AS (SELECT DISTINCT gid, {k} FROM ids)
        SELECT {k}, count, total_ns, {", ".join(f"{n}_ns" for n in stats)}
        FROM ({distribution("coded", ["gid"], "duration_ns", "regions")}) JOIN frames USING (gid)
        ORDER BY {k}
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
        return _stored(con, "summary_rows")
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
    stats = [*(n for n, _ in QUANTILES), "max"]
    runnable = distribution("goroutine_waits", [], "dur_ns", "waits", "state = 'sched_wait'")
    lat = con.sql(
        f"SELECT count, {', '.join(f'{n}_ns' for n in stats)} FROM ({runnable})"
    ).fetchall()[0]
    if lat[0]:
        for i, (name, value) in enumerate(zip(stats, lat[1:]), 1):
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
