"""Export a trace to Parquet, then query the files with DuckDB and with polars.

    python examples/query_parquet.py [TRACE] [OUT_DIR]

OUT_DIR (default: ``<trace name>-parquet`` in the current directory) gets one
Parquet file per table and a ``trace.json`` manifest. The files need nothing
from gotrace_df to be read: any Parquet reader works. Needs ``duckdb`` and
``polars`` (``pip install duckdb polars``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import polars as pl

import gotrace_df as gt


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else gt.example_trace()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"{source.stem}-parquet")

    # Written beside OUT_DIR and renamed into place when complete.
    gt.read_trace(source).to_parquet(out)
    print(f"exported to {out}/: {', '.join(sorted(p.name for p in out.iterdir()))}")

    # -- DuckDB: SQL straight over the files ---------------------------------
    con = duckdb.connect()
    # File names go in as parameters: no quoting trouble whatever the path.
    print("\nDuckDB: the trace (trace.json, the manifest)")
    print(
        con.sql(
            """
            SELECT trace.go_versions AS go, (trace.end_ns - trace.start_ns) / 1e6 AS duration_ms
            FROM read_json($manifest)
            """,
            params={"manifest": str(out / "trace.json")},
        )
    )
    print("DuckDB: events by kind")
    print(
        con.sql(
            """
            SELECT kind, count(*) AS events
            FROM read_parquet($events)
            GROUP BY kind ORDER BY events DESC, kind
            """,
            params={"events": str(out / "events.parquet")},
        )
    )
    # Scheduler latency: the time goroutines spent Runnable, waiting for a P
    # (waits still open at the end of the trace have no known length).
    print("DuckDB: scheduler latency")
    print(
        con.sql(
            """
            SELECT count(*) AS waits,
                   round(quantile_cont("end" - start, 0.99) / 1e3, 3) AS p99_us,
                   max("end" - start) / 1e3 AS max_us
            FROM read_parquet($spans)
            WHERE state = 'Runnable' AND end_event IS NOT NULL
            """,
            params={"spans": str(out / "spans.parquet")},
        )
    )

    # -- polars: the same files as DataFrames --------------------------------
    pl.Config.set_tbl_rows(-1)  # print every row, not the first and last few
    events = pl.read_parquet(out / "events.parquet")
    print("polars: events by kind")
    print(
        events.group_by("kind")
        .agg(pl.len().alias("events"))
        # Dictionary-encoded strings arrive as categoricals: sort them as text.
        .sort(["events", pl.col("kind").cast(pl.String)], descending=[True, False])
    )
    spans = pl.read_parquet(out / "spans.parquet")
    goroutines = pl.read_parquet(out / "goroutines.parquet").unique("goid", keep="last")
    print("polars: where the time went, by goroutine start function (top 5 by Running time)")
    print(
        spans.filter(pl.col("state") == "Running")
        .join(goroutines.select("goid", "name"), on="goid")
        .group_by("name")
        .agg(
            pl.col("goid").n_unique().alias("goroutines"),
            ((pl.col("end") - pl.col("start")).sum() / 1e6).alias("running_ms"),
        )
        .sort("running_ms", descending=True)
        .head(5)
    )


if __name__ == "__main__":
    main()
