"""The widgets' browser code: each widget's module after the shared one."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def esm(name: str) -> str:
    """The ES module of widget file ``name``: ``units.js`` (the display
    formats both widgets print) followed by the widget's own file."""
    return "".join((_HERE / f).read_text(encoding="utf-8") for f in ("units.js", name))
