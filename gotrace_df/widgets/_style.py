"""The viewer's stylesheet, injected once as an HTML widget."""

from __future__ import annotations

import ipywidgets as W

CSS = """
<style>
.gtdf-viewer { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #24292f; }
.gtdf-header { display:flex; align-items:center; gap:14px; flex-wrap:wrap; padding:10px 14px;
  background:linear-gradient(90deg,#1f3b57,#2d5a84); color:#fff; border-radius:8px; margin-bottom:6px; }
.gtdf-header .gtdf-logo { font-weight:700; font-size:15px; letter-spacing:.2px; opacity:.95; }
.gtdf-header .gtdf-title { font-size:17px; font-weight:600; }
.gtdf-header .gtdf-pill { background:rgba(255,255,255,.16); border-radius:999px; padding:2px 10px; font-size:12.5px; }
.gtdf-muted { color:#6a737d; }
.gtdf-row { gap: 8px; }
.gtdf-chip { background:#fff4cf; border:1px solid #f0d78c; border-radius:999px; padding:1px 9px; font-size:12px; }
.gtdf-details { border:1px solid #e1e4e8; border-radius:6px; padding:8px 12px; background:#fbfcfd; font-size:13px; }
.gtdf-details.gtdf-muted { background:transparent; border-style:dashed; }
.gtdf-details-head { font-size:14px; margin-bottom:6px; }
.gtdf-details-body { display:grid; grid-template-columns: minmax(220px, auto) 1fr 1fr; gap:18px; align-items:start; }
.gtdf-viewer table.gtdf-kv, .gtdf-app table.gtdf-kv { border-collapse:collapse; margin:0; font-size:12.5px; }
.gtdf-viewer .gtdf-kv th, .gtdf-viewer .gtdf-kv td { text-align:left; padding:1px 12px 1px 0 !important; line-height:1.5; border:none; }
.gtdf-viewer .gtdf-kv th { color:#57606a; font-weight:500; white-space:nowrap; }
.gtdf-stacks { display:grid; grid-template-columns: 1fr 1fr; gap:12px; }
.gtdf-h { font-weight:600; font-size:11.5px; color:#57606a; margin:0 0 3px; text-transform:uppercase; letter-spacing:.3px; }
.gtdf-stack { margin:0; padding-left:22px; font-size:12px; line-height:1.45; }
.gtdf-stack code { color:#0b4f8a; background:none; }
.gtdf-stack span { color:#6a737d; }
.gtdf-state { border-radius:4px; padding:1px 7px; font-size:12px; color:#fff; background:#888; }
.gtdf-state-Running { background:#3e9c5c; } .gtdf-state-Runnable { background:#5b9bd5; }
.gtdf-state-Waiting { background:#9a938a; } .gtdf-state-Syscall { background:#c98a3c; }
.gtdf-table-wrap { overflow:auto; border:1px solid #e1e4e8; border-radius:6px; }
.gtdf-grid { border-collapse:separate; border-spacing:0; width:100%; font-size:12.5px; }
.gtdf-grid th { position:sticky; top:0; background:#f6f8fa; text-align:left; font-weight:600; padding:5px 9px;
  border-bottom:1px solid #d8dde3; cursor:pointer; white-space:nowrap; z-index:1; }
.gtdf-grid td { padding:3px 9px; border-bottom:1px solid #f0f2f4; white-space:nowrap; max-width:520px;
  overflow:hidden; text-overflow:ellipsis; }
.gtdf-grid .num { text-align:right; font-variant-numeric: tabular-nums; }
.gtdf-grid tbody tr { cursor:pointer; }
.gtdf-grid tbody tr:hover { background:#f1f6fc; }
.gtdf-grid tbody tr.sel { background:#dbeafe; }
.gtdf-grid code { background:none; color:#0b4f8a; font-size:12px; }
.gtdf-table-info { font-size:11.5px; color:#6a737d; padding:3px 2px; }
.gtdf-section { font-weight:600; font-size:14px; margin:10px 0 4px; }
.gtdf-help { color:#57606a; font-size:12.5px; margin:2px 0 6px; }
.gtdf-cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap:10px; }
.gtdf-card { border:1px solid #e1e4e8; border-radius:8px; padding:9px 12px; background:#fff; }
.gtdf-card .k { color:#57606a; font-size:12px; }
.gtdf-card .v { font-size:19px; font-weight:600; margin-top:2px; font-variant-numeric: tabular-nums; }
.gtdf-summary-sec { font-weight:600; text-transform:capitalize; margin:12px 0 6px; color:#1f3b57; }
.gtdf-download { display:inline-block; padding:4px 12px; border-radius:5px; background:#2d5a84; color:#fff !important;
  text-decoration:none !important; font-size:13px; }
.gtdf-error { color:#b31d28; background:#ffeef0; border:1px solid #f3b5bc; border-radius:6px; padding:8px 12px; }
.gtdf-viewer .widget-tab > .p-TabBar .p-TabBar-tab, .gtdf-viewer .widget-tab > .lm-TabBar .lm-TabBar-tab { min-width: 90px; }
</style>
"""


def style() -> W.HTML:
    """An HTML widget carrying the stylesheet (display it once per page)."""
    return W.HTML(CSS, layout=W.Layout(display="none"))
