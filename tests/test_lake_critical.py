"""The lake's critical paths by task type, held to the single-trace view: each
trace's slice is gt.critical_path(tr, by_task_type=...) number for number, and
the fleet-wide percentiles are numpy's over every task of the type in every
trace (a task counting 0 under a key its path never touches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gotrace_df as gt
from gotrace_df import lake

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# Task types in several traces ("tiny", "request" ...), with keys one trace's
# paths have and another's lack, and the example's blocked paths.
TRACES = [
    CORPUS / "go1.26/tasks.trace",
    CORPUS / "go1.24/tasks.trace",
    CORPUS / "go1.26/gotest.trace",
    Path(gt.example_trace()),
]
BREAKDOWNS: list[str | tuple[str, ...]] = ["category", "stack", ("category", "stack")]
STATS = {"p50_ns": 0.5, "p90_ns": 0.9, "p99_ns": 0.99, "max_ns": 1.0}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[lake.Lake, dict[str, gt.Trace]]:
    root = tmp_path_factory.mktemp("critlake") / "lake"
    added = lake.convert([str(p) for p in TRACES], root, workers=1, progress=False)
    assert (added.status == "ok").all() and added.trace_id.nunique() == len(TRACES)
    return lake.open(root), {t: gt.read_trace(s) for t, s in zip(added.trace_id, added.source)}


def _types(tr: gt.Trace) -> list[str]:
    t = tr.tasks.to_pandas()
    return sorted(t.loc[t["end"].notna(), "name"].unique())


def _types_count(tr: gt.Trace, name: str) -> int:
    t = tr.tasks.to_pandas()
    return int((t.loc[t["end"].notna(), "name"] == name).sum())


def _canonical(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``df``'s task row, then its other rows by key (the single view breaks
    ties in total time by first appearance, the lake by key), keys as str."""
    df = df.astype({k: str for k in keys})
    body = df.iloc[1:].sort_values(keys)
    return pd.concat([df.iloc[:1], body]).reset_index(drop=True)


def test_each_trace_equals_its_single_trace_view(
    fleet: tuple[lake.Lake, dict[str, gt.Trace]],
) -> None:
    lk, trs = fleet
    checked = 0
    for name in sorted({n for tr in trs.values() for n in _types(tr)}):
        for breakdown in BREAKDOWNS:
            keys = [breakdown] if isinstance(breakdown, str) else list(breakdown)
            got = lk.critical_path(name, by="trace", breakdown=breakdown)
            assert set(got.trace_id) == {t for t, tr in trs.items() if name in _types(tr)}
            for tid in set(got.trace_id):
                mine = got[got.trace_id == tid].drop(columns="trace_id")
                want = gt.critical_path(trs[tid], by_task_type=name, by=breakdown)
                # The lake orders by total time, then key.
                assert (np.diff(mine["total_ns"].to_numpy()[1:]) <= 0).all()
                pd.testing.assert_frame_equal(
                    _canonical(mine, keys), _canonical(want, keys), obj=f"{name} in {tid}"
                )
                checked += 1
    assert checked >= 3 * 9


def _fleet_wide(trs: dict[str, gt.Trace], name: str, keys: list[str]) -> pd.DataFrame:
    """The breakdown over every ended task of type ``name`` of every trace,
    computed here from each trace's critical_paths with numpy."""
    paths = pd.concat(
        [
            gt.critical_paths(tr).astype({k: str for k in keys}).assign(trace=tid)
            for tid, tr in trs.items()
        ]
    )
    paths = paths[paths["task"].astype(str) == name]
    n = sum(_types_count(tr, name) for tr in trs.values())
    per = paths.pivot_table(
        index=["trace", "task_id"], columns=keys, values="duration_ns", aggfunc="sum", fill_value=0
    )
    assert len(per) == n  # every ended task has a path
    table = np.concatenate([per.sum(axis=1).to_numpy()[:, None], per.to_numpy()], axis=1)
    cols = [tuple(c) if isinstance(c, tuple) else (c,) for c in per.columns]
    first = tuple("(task)" if k == "category" else "" for k in keys)
    out = pd.DataFrame([first, *cols], columns=keys)
    out["tasks"] = (table > 0).sum(axis=0)
    out["total_ns"] = table.sum(axis=0)
    out["mean_ns"] = out["total_ns"] / n
    for col, q in STATS.items():
        out[col] = np.quantile(table, q, axis=0, method="inverted_cdf").astype(np.int64)
    out["share"] = out["total_ns"] / int(table[:, 0].sum())
    return out.astype({c: np.int64 for c in ("tasks", "total_ns")})


@pytest.mark.parametrize("name", ["tiny", "request", "subtask", "cache"])
def test_fleet_percentiles_are_over_every_task(
    fleet: tuple[lake.Lake, dict[str, gt.Trace]], name: str
) -> None:
    lk, trs = fleet
    for breakdown in BREAKDOWNS:
        keys = [breakdown] if isinstance(breakdown, str) else list(breakdown)
        got = lk.critical_path(name, by=None, breakdown=breakdown)
        pd.testing.assert_frame_equal(
            _canonical(got, keys), _canonical(_fleet_wide(trs, name, keys), keys), obj=name
        )


def test_bad_questions_are_value_errors(fleet: tuple[lake.Lake, dict[str, gt.Trace]]) -> None:
    lk, _ = fleet
    with pytest.raises(ValueError, match="no ended task of type"):
        lk.critical_path("no such type", by=None)
    with pytest.raises(ValueError, match="no ended task of type"):
        lk.critical_path("it's '; DROP TABLE tasks; --", by="trace")
    with pytest.raises(ValueError, match="breakdown must be"):
        lk.critical_path("tiny", breakdown="reason")
    with pytest.raises(ValueError, match="by must be"):
        lk.critical_path("tiny", by="goroutine")  # type: ignore[arg-type]
