"""Reading `go tool trace`'s HTML pages back into numbers, for the view tests.

Where the pages print times:

* Go `time.Duration.String()` ("36.262464ms", "1m2.5s", "0s"): exact ns, parsed
  with integer arithmetic (:func:`parse_duration`);
* /usertask's "When" (`%2.9f` seconds) and "Elapsed" (`%.9f` seconds with
  leading zeros blanked): exact ns as well (:func:`parse_seconds`);
* the group page's "Execution Time" share: `%.2f%%`, compared at that precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

_UNITS = {
    "h": 3600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "µs": 10**3,
    "μs": 10**3,
    "us": 10**3,
    "ns": 1,
}
_PART = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(s: str) -> int:
    """Go's time.Duration string -> ns, exactly."""
    s = s.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    if s == "0":
        return 0
    pos, total = 0, Decimal(0)
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None:
            raise ValueError(f"bad duration {s!r}")
        total += Decimal(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if total != total.to_integral_value():
        raise ValueError(f"duration {s!r} is not a whole number of ns")
    return -int(total) if neg else int(total)


def parse_seconds(s: str) -> int:
    """ "%.9f" seconds (blanks read as zeros, as cmd/trace's elapsed() prints
    them) -> ns."""
    t = s.strip().rstrip("s").replace(" ", "0")
    if t.startswith("."):
        t = "0" + t
    return int((Decimal(t) * 10**9).to_integral_value())


def go_unquote(s: str) -> str:
    """Inverse of Go's %q for the simple strings the corpus uses."""
    assert s.startswith('"') and s.endswith('"'), s
    body = s[1:-1]
    return re.sub(
        r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)",
        lambda m: _unesc(m.group(1)),
        body,
    )


def _unesc(e: str) -> str:
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
    if e in simple:
        return simple[e]
    if e[0] in "xuU" and len(e) > 1:
        return chr(int(e[1:], 16))
    return e


# -- a minimal DOM ------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str) -> list[Node]:
        out: list[Node] = []
        for c in self.children:
            if isinstance(c, Node):
                if c.tag == tag:
                    out.append(c)
                out.extend(c.find_all(tag))
        return out

    def kids(self, tag: str) -> list[Node]:
        """Direct children with this tag (looking through implicit tbody)."""
        out: list[Node] = []
        for c in self.children:
            if isinstance(c, Node):
                if c.tag == tag:
                    out.append(c)
                elif c.tag == "tbody":
                    out.extend(c.kids(tag))
        return out


_VOID = {"br", "input", "meta", "link", "img", "hr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Close up to the matching open tag (the templates leave some td open).
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def dom(html: str) -> Node:
    b = _Builder()
    b.feed(html)
    b.close()
    return b.root


def cells(row: Node) -> list[Node]:
    return [c for c in row.children if isinstance(c, Node) and c.tag in ("td", "th")]


# -- pages --------------------------------------------------------------------


def goroutines_page(html: str) -> dict[str, tuple[int, int]]:
    """/goroutines: name -> (count, total exec ns)."""
    table = dom(html).find_all("table")[0]
    out: dict[str, tuple[int, int]] = {}
    for row in table.kids("tr")[1:]:
        c = cells(row)
        a = c[0].find_all("a")[0]
        name = unquote(parse_qs(urlsplit(a.attrs["href"]).query, keep_blank_values=True)["name"][0])
        out[name] = (int(c[1].text()), parse_duration(c[2].text()))
    return out


@dataclass
class StatsTable:
    columns: list[str]
    rows: list[tuple[str, ...]]  # (goid[, task], total, *columns) as printed


@dataclass
class GoroutinePage:
    count: int
    exec_percent: str
    breakdown: StatsTable
    ranges: StatsTable


def _details_tables(root: Node) -> list[Node]:
    return [t for t in root.find_all("table") if t.attrs.get("class") == "details"]


def _stats_table(t: Node, n_id: int, skip_bar: bool) -> StatsTable:
    rows = t.kids("tr")
    head = [h.text().strip() for h in cells(rows[0])]
    cols = head[n_id + 1 + (1 if skip_bar else 0) :]
    data: list[tuple[str, ...]] = []
    for r in rows[1:]:
        c = [x.text().strip() for x in cells(r)]
        if skip_bar:
            c = c[: n_id + 1] + c[n_id + 2 :]
        data.append(tuple(c))
    return StatsTable(cols, data)


def goroutine_page(html: str) -> GoroutinePage:
    """/goroutine?name=: the summary, the breakdown and the special ranges."""
    root = dom(html)
    summ = [t for t in root.find_all("table") if t.attrs.get("class") == "summary"][0]
    info = {cells(r)[0].text().strip(): cells(r)[1].text().strip() for r in summ.kids("tr")}
    bd, rg = _details_tables(root)
    return GoroutinePage(
        count=int(info["Count:"]),
        exec_percent=info["Execution Time:"].split(" ")[0],
        breakdown=_stats_table(bd, 1, True),
        ranges=_stats_table(rg, 1, False),
    )


def region_page(html: str) -> tuple[StatsTable, StatsTable]:
    """/userregion: the breakdown (goroutine, task, total, ...) and the ranges."""
    bd, rg = _details_tables(dom(html))
    return _stats_table(bd, 2, True), _stats_table(rg, 2, False)


@dataclass
class Histogram:
    buckets: list[tuple[int, int]]  # (lower bound ns, count) per row shown
    last: int  # the final tick label
    links: list[str]  # hrefs of the non-empty buckets


def histogram(cell: Node) -> Histogram | None:
    tables = cell.find_all("table")
    if not tables:
        return None
    rows = tables[0].kids("tr")
    buckets: list[tuple[int, int]] = []
    links: list[str] = []
    for r in rows[:-1]:
        c = cells(r)
        buckets.append((parse_duration(c[0].text()), int(c[2].text())))
        links += [a.attrs["href"] for a in c[0].find_all("a")]
    return Histogram(buckets, parse_duration(cells(rows[-1])[0].text()), links)


def usertasks_page(html: str) -> dict[str, tuple[int, Histogram | None]]:
    """/usertasks: type -> (count, histogram)."""
    table = [t for t in dom(html).find_all("table") if t.attrs.get("sortable")][0]
    out: dict[str, tuple[int, Histogram | None]] = {}
    for row in table.kids("tr")[1:]:
        c = cells(row)
        out[c[0].text()] = (int(c[1].text()), histogram(c[2]))
    return out


@dataclass
class TaskBlock:
    task_id: int
    when_ns: int
    duration_ns: int
    complete: bool
    events: list[tuple[int, int, str, str]]  # (when ns, elapsed ns, goroutine, what)


def usertask_page(html: str) -> list[TaskBlock]:
    """/usertask: the tasks in page order, each with its event rows."""
    table = [t for t in dom(html).find_all("table") if t.attrs.get("id") == "reqs"][0]
    out: list[TaskBlock] = []
    for row in table.kids("tr")[1:]:
        c = cells(row)
        if row.attrs.get("class") == "first":
            text = c[3].text()
            m = re.search(r"Task (\d+)", text)
            assert m is not None, text
            out.append(
                TaskBlock(
                    task_id=int(m.group(1)),
                    when_ns=parse_seconds(c[0].text()),
                    duration_ns=parse_duration(c[1].text()),
                    complete="(complete)" in text,
                    events=[],
                )
            )
        else:
            out[-1].events.append(
                (
                    parse_seconds(c[0].text()),
                    parse_seconds(c[1].text()),
                    c[2].text().strip(),
                    c[3].text(),
                )
            )
    return out


@dataclass
class RegionGroup:
    type: str
    function: str
    pc: int
    file: str
    line: int
    count: int
    histogram: Histogram | None


def userregions_page(html: str) -> list[RegionGroup]:
    """/userregions: the groups in page order."""
    table = [t for t in dom(html).find_all("table") if t.attrs.get("sortable")][0]
    out: list[RegionGroup] = []
    for row in table.kids("tr")[1:]:
        c = cells(row)
        pre = c[0].find_all("pre")[0]
        parts = [p for p in pre.children if isinstance(p, str)]
        typ = go_unquote(parts[0])
        fn, _, pc = parts[1].rpartition(" @ ")
        file, _, line = parts[2].rpartition(":")
        out.append(
            RegionGroup(typ, fn, int(pc, 16), file, int(line), int(c[1].text()), histogram(c[2]))
        )
    return out
