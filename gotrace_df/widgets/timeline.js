// gotrace_df timeline: a canvas that draws the LOD payloads the kernel sends.
// The kernel does the aggregation (about one block per pixel per lane); this
// file only draws, rescales the last payload while the user zooms or pans, and
// asks for a new one (debounced, at most one request in flight).

const LABEL_W = 190;
const AXIS_H = 26;
const COUNTER_H = 40;
const GC_H = 12;
const LANE_H = 22;
const GAP = 3;
const DEBOUNCE_MS = 60;

// A tick label: the unit of the view's scale, with as many decimals as the
// tick step needs (95.2125 ms, not 95.21 ms four times).
function fmtTick(t, step, span) {
  const units = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"], [1, "ns"]];
  let [k, u] = units[units.length - 1];
  for (const [kk, uu] of units) if (Math.max(Math.abs(t), span) >= kk) { k = kk; u = uu; break; }
  const dec = Math.max(0, Math.min(9, Math.ceil(-Math.log10(step / k) - 1e-9)));
  return (t / k).toFixed(dec) + " " + u;
}

function fmtCount(v, unit) {
  if (!isFinite(v)) return "–";
  return unit === "bytes" ? displayBytes(v) : Math.round(v).toLocaleString();
}

function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function decode(meta, dv) {
  if (!dv || !meta || !meta.n && meta.n !== 0) return null;
  let bytes;
  if (dv instanceof DataView) bytes = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength).slice();
  else if (dv instanceof ArrayBuffer) bytes = new Uint8Array(dv).slice();
  else if (dv.buffer) bytes = new Uint8Array(dv.buffer, dv.byteOffset || 0, dv.byteLength).slice();
  else return null;
  const buf = bytes.buffer;
  const n = meta.n;
  const out = {
    x0: new Uint16Array(buf, 0, n),
    x1: new Uint16Array(buf, 2 * n, n),
    id: new Int32Array(buf, 4 * n, n),
    cat: new Uint8Array(buf, 8 * n, n),
    occ: new Uint8Array(buf, 9 * n, n),
    counters: {},
  };
  for (const c of meta.counters || []) {
    for (const s of c.series) out.counters[s.key] = new Float32Array(buf, s.offset, meta.width);
  }
  return out;
}

function hexToRgb(h) {
  const v = parseInt(h.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function render({ model, el }) {
  el.classList.add("gtdf-timeline");
  const root = document.createElement("div");
  root.className = "gtdf-tl-root";
  root.style.cssText = "position:relative;width:100%;user-select:none;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;";
  const canvas = document.createElement("canvas");
  canvas.tabIndex = 0;
  canvas.className = "gtdf-tl-canvas";
  canvas.style.cssText = "display:block;width:100%;outline:none;border:1px solid #d8dde3;border-radius:6px;background:#fff;cursor:grab;";
  const tip = document.createElement("div");
  tip.className = "gtdf-tl-tip";
  tip.style.cssText = "position:absolute;pointer-events:none;display:none;background:rgba(33,37,41,.94);color:#fff;font-size:12px;line-height:1.35;padding:6px 8px;border-radius:5px;white-space:nowrap;z-index:10;box-shadow:0 2px 8px rgba(0,0,0,.25);";
  const status = document.createElement("div");
  status.className = "gtdf-tl-status";
  status.style.cssText = "display:flex;justify-content:space-between;gap:12px;font-size:11.5px;color:#5f6b7a;padding:4px 2px 0 2px;";
  const statusL = document.createElement("span");
  const statusR = document.createElement("span");
  const legend = document.createElement("div");
  legend.className = "gtdf-tl-legend";
  legend.style.cssText = "display:none;font-size:11.5px;color:var(--jp-ui-font-color1,#3d4650);padding:3px 2px 0 2px;";
  statusR.textContent = "wheel: zoom · drag: pan · drag the time ruler: zoom to range · click: details · double-click: whole trace · W/S/A/D keys";
  status.append(statusL, statusR);
  root.append(canvas, tip, status, legend);
  el.append(root);

  const ctx = canvas.getContext("2d");
  let meta = null;
  let data = null;
  let view = { t0: model.get("t0"), t1: model.get("t1") };
  let laneOffset = 0;
  let cssW = 800;
  let cssH = model.get("height") || 560;
  let inflight = false;
  let dirty = false;
  let timer = null;
  let drag = null;
  let hover = null;
  let rgbCache = {};

  const duration = () => model.get("duration") || 1;
  const plotW = () => Math.max(50, cssW - LABEL_W - 8);
  const countersH = () => (meta && meta.counters ? meta.counters.length : 3) * (COUNTER_H + GAP);
  const gcTop = () => AXIS_H + countersH();
  const lanesTop = () => gcTop() + 2 * (GC_H + 1) + GAP + 2;
  const laneRows = () => Math.max(1, Math.floor((cssH - lanesTop() - 4) / LANE_H));
  const xOf = (t) => LABEL_W + ((t - view.t0) / (view.t1 - view.t0)) * plotW();
  const tOf = (x) => view.t0 + ((x - LABEL_W) / plotW()) * (view.t1 - view.t0);

  function clampView(t0, t1) {
    const d = duration();
    let span = Math.max(1000, Math.min(d, t1 - t0));
    if (span > d) span = d;
    t0 = Math.max(0, Math.min(t0, d - span));
    return { t0, t1: t0 + span };
  }

  function request(now) {
    if (timer) clearTimeout(timer);
    const send = () => {
      timer = null;
      if (inflight) { dirty = true; return; }
      inflight = true;
      dirty = false;
      model.send({
        type: "viewport",
        t0: view.t0,
        t1: view.t1,
        width: Math.round(plotW()),
        lane_offset: laneOffset,
        lane_rows: laneRows(),
      });
    };
    if (now) send(); else timer = setTimeout(send, DEBOUNCE_MS);
  }

  function rgb(hex) {
    if (!rgbCache[hex]) rgbCache[hex] = hexToRgb(hex);
    return rgbCache[hex];
  }

  // Height: the configured maximum, or less when every lane fits.
  function wantedHeight() {
    const max = model.get("height") || 560;
    if (!meta) return max;
    const need = lanesTop() + Math.max(2, meta.lane_total) * LANE_H + 18;
    return Math.max(260, Math.min(max, need));
  }

  function resize() {
    const r = root.getBoundingClientRect();
    const w = Math.max(400, Math.floor(r.width || 800));
    cssH = wantedHeight();
    const dpr = window.devicePixelRatio || 1;
    if (w !== cssW || canvas.height !== Math.round(cssH * dpr)) {
      cssW = w;
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
      canvas.style.height = cssH + "px";
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      request(false);
    }
    draw();
  }

  // Map a payload pixel (in 1/8 px units) to the current screen x.
  function mapper() {
    const pt0 = meta.t0, pt1 = meta.t1, pw = meta.width;
    const k = (pt1 - pt0) / pw / 8;
    const s = plotW() / (view.t1 - view.t0);
    return (u) => LABEL_W + (pt0 + u * k - view.t0) * s;
  }

  function laneGeometry() {
    // [{y, h, lane meta, index, start block}]
    const out = [];
    if (!meta) return out;
    let block = 0;
    meta.lanes.forEach((ln, i) => {
      let y, h;
      if (i < 2) { y = gcTop() + i * (GC_H + 1); h = GC_H; }
      else { y = lanesTop() + (i - 2) * LANE_H; h = LANE_H - 3; }
      out.push({ y, h, ln, i, start: block });
      block += ln.n;
    });
    return out;
  }

  function drawAxis() {
    const w = plotW();
    ctx.fillStyle = "#f6f8fa";
    ctx.fillRect(0, 0, cssW, AXIS_H);
    ctx.strokeStyle = "#d8dde3";
    ctx.beginPath(); ctx.moveTo(0, AXIS_H - 0.5); ctx.lineTo(cssW, AXIS_H - 0.5); ctx.stroke();
    const span = view.t1 - view.t0;
    const step = niceStep(span, w / 110);
    const first = Math.ceil(view.t0 / step) * step;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let t = first; t <= view.t1; t += step) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.strokeStyle = "#c3cad3";
      ctx.beginPath(); ctx.moveTo(x, AXIS_H - 7); ctx.lineTo(x, AXIS_H); ctx.stroke();
      ctx.strokeStyle = "rgba(0,0,0,0.045)";
      ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, cssH); ctx.stroke();
      ctx.fillStyle = "#3d4650";
      ctx.fillText(fmtTick(t, step, span), x + 3, AXIS_H / 2 - 1);
    }
    ctx.fillStyle = "#24292f";
    ctx.font = "600 11.5px system-ui, sans-serif";
    ctx.fillText("time since trace start", 10, AXIS_H / 2);
  }

  function drawCounters() {
    if (!meta || !data) return;
    const W = meta.width;
    const m = mapper();
    meta.counters.forEach((c, ci) => {
      const y = AXIS_H + GAP + ci * (COUNTER_H + GAP);
      const h = COUNTER_H - 4;
      ctx.fillStyle = ci % 2 ? "#fbfcfd" : "#f7f9fb";
      ctx.fillRect(LABEL_W, y, plotW(), h);
      ctx.fillStyle = "#24292f";
      ctx.font = "600 11.5px system-ui, sans-serif";
      ctx.textBaseline = "top";
      ctx.fillText(c.title, 10, y + 2);
      ctx.font = "10.5px system-ui, sans-serif";
      ctx.fillStyle = "#6a737d";
      ctx.fillText(c.loading ? "loading…" : "max " + fmtCount(c.max, c.unit), 10, y + 17);
      if (c.loading && !c.series.length) {
        ctx.fillStyle = "#8a939c";
        ctx.fillText("counting goroutines over the whole trace…", LABEL_W + 8, y + h / 2 - 6);
      }
      const max = c.max > 0 ? c.max : 1;
      const stacked = c.title !== "Heap";
      let base = new Float32Array(W);
      c.series.forEach((s, si) => {
        const arr = data.counters[s.key];
        if (!arr) return;
        const asLine = !stacked && si > 0;
        ctx.fillStyle = s.color;
        ctx.strokeStyle = s.color;
        if (asLine) { ctx.lineWidth = 1.5; ctx.beginPath(); }
        for (let j = 0; j < W; j++) {
          const v = arr[j];
          if (!isFinite(v)) continue;
          const xa = m(j * 8), xb = m((j + 1) * 8);
          if (xb < LABEL_W || xa > LABEL_W + plotW()) continue;
          const x0 = Math.max(LABEL_W, xa), x1 = Math.min(LABEL_W + plotW(), xb);
          const b0 = stacked ? base[j] : 0;
          const top = y + h - ((b0 + v) / max) * h;
          if (asLine) { if (j === 0 || !isFinite(arr[j - 1])) ctx.moveTo(x0, top); else ctx.lineTo(x0, top); ctx.lineTo(x1, top); }
          else ctx.fillRect(x0, Math.max(y, top), Math.max(1, x1 - x0 + 0.4), (v / max) * h);
          if (stacked) base[j] = b0 + v;
        }
        if (asLine) ctx.stroke();
      });
      // legend
      let lx = LABEL_W + plotW() - 8;
      ctx.font = "10.5px system-ui, sans-serif";
      ctx.textBaseline = "top";
      for (let si = c.series.length - 1; si >= 0; si--) {
        const s = c.series[si];
        const tw = ctx.measureText(s.label).width;
        lx -= tw;
        ctx.fillStyle = "rgba(255,255,255,.8)";
        ctx.fillRect(lx - 14, y + 1, tw + 16, 13);
        ctx.fillStyle = "#57606a";
        ctx.fillText(s.label, lx, y + 2);
        ctx.fillStyle = s.color;
        ctx.fillRect(lx - 11, y + 4, 8, 8);
        lx -= 22;
      }
    });
  }

  function drawLanes() {
    if (!meta || !data) return;
    const m = mapper();
    const cats = meta.categories;
    const geo = laneGeometry();
    const labels = new Map(meta.labels.map(([i, s]) => [i, s]));
    const xmin = LABEL_W, xmax = LABEL_W + plotW();
    const sel = model.get("selected") || {};
    for (const g of geo) {
      const { y, h, ln, i, start } = g;
      if (i >= 2 && (i - 2) % 2 === 1) { ctx.fillStyle = "#fafbfc"; ctx.fillRect(xmin, y - 1, plotW(), LANE_H); }
      else if (i < 2) { ctx.fillStyle = "#f7f7f9"; ctx.fillRect(xmin, y, plotW(), h); }
      ctx.fillStyle = i < 2 ? "#57606a" : "#24292f";
      ctx.font = (i < 2 ? "600 10px" : "11.5px") + " system-ui, sans-serif";
      ctx.textBaseline = "middle";
      let name = ln.name;
      const maxw = LABEL_W - 16;
      if (ctx.measureText(name).width > maxw) {
        while (name.length > 4 && ctx.measureText(name + "…").width > maxw) name = name.slice(0, -1);
        name += "…";
      }
      ctx.fillText(name, 10, y + h / 2);
      for (let b = start; b < start + ln.n; b++) {
        let xa = m(data.x0[b]), xb = m(data.x1[b]);
        if (xb < xmin || xa > xmax) continue;
        xa = Math.max(xmin, xa); xb = Math.min(xmax, xb);
        const c = data.cat[b];
        const color = cats[c & 127] ? cats[c & 127].color : "#888";
        const dim = (c & 128) !== 0;
        const occ = data.occ[b];
        const [r, gg, bb] = rgb(color);
        const exact = occ === 255;
        const frac = exact ? 1 : Math.max(0.22, occ / 255);
        const hh = Math.max(2, h * frac);
        ctx.fillStyle = dim ? `rgba(${r},${gg},${bb},0.16)` : `rgb(${r},${gg},${bb})`;
        ctx.fillRect(xa, y + h - hh, Math.max(1, xb - xa - (exact && xb - xa > 3 ? 0.6 : 0)), hh);
        const label = labels.get(b);
        if (label && xb - xa > 40 && !dim) {
          ctx.save();
          ctx.beginPath(); ctx.rect(xa + 2, y, xb - xa - 4, h); ctx.clip();
          ctx.fillStyle = (r * 0.299 + gg * 0.587 + bb * 0.114) > 150 ? "#1b1f23" : "#ffffff";
          ctx.font = "10.5px system-ui, sans-serif";
          ctx.fillText(label, xa + 4, y + h / 2 + 0.5);
          ctx.restore();
        }
      }
      if (sel && sel.view !== undefined && ((i >= 2 && sel.view === meta.view && sel.key === ln.key && ln.kind !== "gc") || (i < 2 && sel.gc_lane === i))) {
        const xa = Math.max(xmin, xOf(sel.t0)), xb = Math.min(xmax, xOf(sel.t1));
        if (xb >= xmin && xa <= xmax) {
          ctx.strokeStyle = "#0b57d0"; ctx.lineWidth = 2;
          ctx.strokeRect(xa - 1, y - 1, Math.max(2, xb - xa) + 2, h + 2);
          ctx.lineWidth = 1;
        }
      }
    }
    // separators
    ctx.strokeStyle = "#d8dde3";
    ctx.beginPath();
    ctx.moveTo(LABEL_W - 0.5, AXIS_H); ctx.lineTo(LABEL_W - 0.5, cssH);
    ctx.moveTo(0, lanesTop() - 2.5); ctx.lineTo(cssW, lanesTop() - 2.5);
    ctx.stroke();
  }

  // A highlighted path (goroutine view): each piece outlined over its
  // goroutine's lane in its category's colour, with a band along the lane's
  // foot; an arrow wherever the path passes to another goroutine, drawn from
  // the earlier goroutine's lane to the later one's (or towards the edge of
  // the lanes when a lane is scrolled away).
  function drawPath() {
    const p = meta && meta.path;
    let nseg = 0, narrow = 0;
    if (p && meta.view === "goroutine") {
      const byKey = new Map();
      for (const g of laneGeometry()) if (g.i >= 2) byKey.set(g.ln.key, g);
      const xmin = LABEL_W, xmax = LABEL_W + plotW();
      for (const [a, b, goid, c] of p.segments) {
        const g = byKey.get(goid);
        if (!g) continue;
        let xa = xOf(a), xb = xOf(b);
        if (xb < xmin || xa > xmax) continue;
        xa = Math.max(xmin, xa); xb = Math.min(xmax, xb);
        const [r, gg, bb] = rgb(p.categories[c].color);
        const w = Math.max(1, xb - xa);
        ctx.fillStyle = `rgba(${r},${gg},${bb},0.14)`;
        ctx.fillRect(xa, g.y, w, g.h);
        ctx.fillStyle = `rgb(${r},${gg},${bb})`;
        ctx.fillRect(xa, g.y + g.h - 4, w, 4);
        if (w > 4) {
          ctx.strokeStyle = `rgb(${r},${gg},${bb})`;
          ctx.lineWidth = 2;
          ctx.strokeRect(xa + 1, g.y + 1, w - 2, g.h - 2);
          ctx.lineWidth = 1;
        }
        nseg++;
      }
      // The selected segment (a row of the path's table) in amber: the blue
      // of a selected span is too close to the runnable outline.
      const sel = model.get("selected") || {};
      const sg = sel.view === "goroutine" ? byKey.get(sel.key) : null;
      if (sg) {
        const xa = Math.max(xmin, xOf(sel.t0)), xb = Math.min(xmax, xOf(sel.t1));
        if (xb >= xmin && xa <= xmax) {
          ctx.strokeStyle = "#f59e0b";
          ctx.lineWidth = 3;
          ctx.strokeRect(xa - 2, sg.y - 2, Math.max(2, xb - xa) + 4, sg.h + 4);
          ctx.lineWidth = 1;
        }
      }
      const off = meta.lane_offset || 0, shown = meta.lanes.length - 2;
      const top = lanesTop() - 2, bottom = lanesTop() + shown * LANE_H;
      // Where an arrow meets a lane: its middle, or the edge of the lanes
      // towards a lane scrolled away (null: no such lane in view).
      const yOf = (goid) => {
        const g = byKey.get(goid);
        if (g) return { y: g.y + g.h / 2, g };
        const rank = p.rank[String(goid)];
        if (rank === undefined) return null;
        return { y: rank < off ? top : bottom, g: null };
      };
      for (const [t, from, to, how] of p.edges) {
        const colour = p.arrows[how] || p.arrows[""];
        const x = Math.round(xOf(t)) + 0.5;
        if (x < xmin || x > xmax) continue;
        const a = yOf(from), b = yOf(to);
        if (!a || !b || (!a.g && !b.g)) continue;
        const down = b.y > a.y;
        const yb = b.g ? (down ? b.g.y : b.g.y + b.g.h) : b.y;
        const ya = a.y;
        ctx.lineCap = "round";
        ctx.strokeStyle = "rgba(255,255,255,0.95)";
        ctx.lineWidth = 4.5;
        ctx.beginPath(); ctx.moveTo(x, ya); ctx.lineTo(x, yb); ctx.stroke();
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2;
        if (!a.g || !b.g) ctx.setLineDash([4, 3]);
        ctx.beginPath(); ctx.moveTo(x, ya); ctx.lineTo(x, yb); ctx.stroke();
        ctx.setLineDash([]);
        ctx.lineWidth = 1;
        const d = down ? -1 : 1;
        ctx.fillStyle = colour;
        ctx.strokeStyle = "#fff";
        ctx.beginPath();
        ctx.moveTo(x, yb); ctx.lineTo(x - 5, yb + d * 8); ctx.lineTo(x + 5, yb + d * 8); ctx.closePath();
        ctx.fill(); ctx.stroke();
        if (a.g) { ctx.beginPath(); ctx.arc(x, ya, 3, 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); }
        narrow++;
      }
    }
    canvas.dataset.pathSegments = String(nseg);
    canvas.dataset.pathArrows = String(narrow);
  }

  function drawLegend() {
    const p = meta && meta.path;
    if (!p) { legend.innerHTML = ""; legend.style.display = "none"; return; }
    legend.style.display = "block";
    legend.innerHTML = `<b>${esc(p.label)}</b>` + p.categories.map((c) =>
      `<span style="white-space:nowrap;margin-left:8px"><span style="display:inline-block;width:10px;height:10px;border:2px solid ${c.color};background:${c.color}33;vertical-align:-1px;margin-right:3px"></span>${esc(c.label)}</span>`).join("") +
      `<span style="margin-left:14px;color:${p.arrows[""]};white-space:nowrap">●→ woke or created the next goroutine</span>` +
      `<span style="margin-left:14px;color:${p.arrows.waited};white-space:nowrap">●→ began waiting for it</span>` +
      (meta.view === "goroutine" ? "" : `<span style="margin-left:14px">(outlined in the Goroutines view)</span>`);
  }

  function drawMarks() {
    if (!meta) return;
    for (const mk of meta.marks || []) {
      const xa = Math.max(LABEL_W, xOf(mk.t0)), xb = Math.min(LABEL_W + plotW(), xOf(mk.t1));
      if (xb < LABEL_W || xa > LABEL_W + plotW()) continue;
      const [r, g, b] = rgb(mk.color || "#f5c542");
      ctx.fillStyle = `rgba(${r},${g},${b},0.16)`;
      ctx.fillRect(xa, AXIS_H, Math.max(2, xb - xa), cssH - AXIS_H);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(xa, AXIS_H - 4, Math.max(2, xb - xa), 4);
      ctx.strokeStyle = `rgba(${r},${g},${b},0.9)`;
      ctx.beginPath(); ctx.moveTo(xa + 0.5, AXIS_H); ctx.lineTo(xa + 0.5, cssH); ctx.moveTo(xb - 0.5, AXIS_H); ctx.lineTo(xb - 0.5, cssH); ctx.stroke();
    }
  }

  function drawScrollbar() {
    if (!meta) return;
    const total = meta.lane_total, rows = laneRows();
    if (total <= rows) return;
    const top = lanesTop(), h = cssH - top - 4;
    const th = Math.max(16, (rows / total) * h);
    const ty = top + (laneOffset / Math.max(1, total - rows)) * (h - th);
    ctx.fillStyle = "rgba(0,0,0,0.06)"; ctx.fillRect(cssW - 7, top, 5, h);
    ctx.fillStyle = "rgba(0,0,0,0.3)"; ctx.fillRect(cssW - 7, ty, 5, th);
    ctx.fillStyle = "#6a737d";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    ctx.fillText(`${(laneOffset + 1).toLocaleString()}–${Math.min(total, laneOffset + rows).toLocaleString()} of ${total.toLocaleString()}`, 10, cssH - 3);
  }

  function drawSelection() {
    if (!drag || drag.mode !== "range") return;
    const xa = Math.min(drag.x0, drag.x), xb = Math.max(drag.x0, drag.x);
    ctx.fillStyle = "rgba(11,87,208,0.12)";
    ctx.fillRect(xa, 0, xb - xa, cssH);
    ctx.strokeStyle = "rgba(11,87,208,0.7)";
    ctx.strokeRect(xa + 0.5, 0.5, xb - xa, cssH - 1);
    ctx.fillStyle = "#0b57d0";
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(displayDuration(Math.abs(tOf(xb) - tOf(xa))), xa + 4, AXIS_H + 4);
  }

  function drawCursor() {
    if (!hover || drag) return;
    const x = Math.round(hover.x) + 0.5;
    if (x < LABEL_W || x > LABEL_W + plotW()) return;
    ctx.strokeStyle = "rgba(11,87,208,0.45)";
    ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, cssH); ctx.stroke();
  }

  function draw() {
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, cssW, cssH);
    drawAxis();
    if (!meta || !data) {
      ctx.fillStyle = "#6a737d";
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("Loading timeline…", LABEL_W + 20, AXIS_H + 40);
      return;
    }
    drawCounters();
    drawLanes();
    drawPath();
    drawMarks();
    drawScrollbar();
    drawSelection();
    drawCursor();
    canvas.dataset.view = `${view.t0},${view.t1}`;
    const kb = ((model.get("payload_bytes") || 0) / 1024).toFixed(1);
    statusL.textContent = `${displayDuration(view.t0)} – ${displayDuration(view.t1)} (${displayDuration(view.t1 - view.t0)} of ${displayDuration(duration())}) · ${meta.n.toLocaleString()} blocks · ${kb} kB · ${meta.compute_ms} ms` + (meta.filter ? ` · highlight: ${meta.filter}` : "");
  }

  function hitLane(y) {
    for (const g of laneGeometry()) if (y >= g.y - 1 && y <= g.y + g.h + 1) return g;
    return null;
  }

  function hitCounter(y) {
    if (!meta) return -1;
    for (let ci = 0; ci < meta.counters.length; ci++) {
      const top = AXIS_H + GAP + ci * (COUNTER_H + GAP);
      if (y >= top && y < top + COUNTER_H) return ci;
    }
    return -1;
  }

  function hitBlock(g, x) {
    const m = mapper();
    let best = -1, bestD = 4;
    for (let b = g.start; b < g.start + g.ln.n; b++) {
      const xa = m(data.x0[b]), xb = m(data.x1[b]);
      const d = x < xa ? xa - x : x > xb ? x - xb : 0;
      if (d < bestD || (d === 0 && data.occ[b] === 255)) { best = b; bestD = d; if (d === 0 && data.occ[b] === 255) break; }
    }
    return best;
  }

  function showTip(ev, html) {
    tip.innerHTML = html;
    tip.style.display = "block";
    const r = root.getBoundingClientRect();
    let x = ev.clientX - r.left + 14, y = ev.clientY - r.top + 14;
    const tw = tip.offsetWidth;
    if (x + tw > r.width) x = ev.clientX - r.left - tw - 10;
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function esc(s) { return String(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]); }

  function updateTip(ev, x, y) {
    if (!meta || !data || x < LABEL_W) { tip.style.display = "none"; return; }
    const t = tOf(x);
    const ci = hitCounter(y);
    if (ci >= 0) {
      const c = meta.counters[ci];
      const m = mapper();
      const u = ((t - meta.t0) / (meta.t1 - meta.t0)) * meta.width;
      const j = Math.floor(u);
      let rows = "";
      for (const s of c.series) {
        const arr = data.counters[s.key];
        const v = arr && j >= 0 && j < arr.length ? arr[j] : NaN;
        rows += `<div><span style="display:inline-block;width:8px;height:8px;background:${s.color};margin-right:5px"></span>${esc(s.label)}: <b>${fmtCount(v, c.unit)}</b></div>`;
      }
      showTip(ev, `<div style="opacity:.8">${c.title} at ${displayDuration(t)}</div>${rows}`);
      void m;
      return;
    }
    const g = hitLane(y);
    if (!g) { tip.style.display = "none"; return; }
    const b = hitBlock(g, x);
    if (b < 0) { tip.style.display = "none"; return; }
    const m = mapper();
    const t0 = tOf(m(data.x0[b])), t1 = tOf(m(data.x1[b]));
    const c = data.cat[b] & 127;
    const cat = meta.categories[c] ? meta.categories[c].label : "?";
    const occ = data.occ[b];
    let head = esc(g.ln.name);
    let body = "";
    if (data.id[b] >= 0) body += `<div><b>G${data.id[b]}</b> ${esc(cat)}</div>`;
    else body += `<div><b>${esc(cat)}</b></div>`;
    if (occ === 255) body += `<div>${displayDuration(t1 - t0)} &nbsp;<span style="opacity:.75">${displayDuration(t0)} → ${displayDuration(t1)}</span></div>`;
    else body += `<div>${Math.round((occ / 255) * 100)}% busy over ${displayDuration(t1 - t0)} <span style="opacity:.75">(many short intervals: zoom in)</span></div>`;
    const p = meta.path;
    if (p && meta.view === "goroutine") {
      for (const [a, bb, goid, c, , text] of p.segments) {
        if (goid !== g.ln.key || t < a || t > bb) continue;
        const cc = p.categories[c];
        body += `<div style="margin-top:3px"><span style="display:inline-block;width:8px;height:8px;background:${cc.color};margin-right:5px"></span>${esc(p.label)}: <b>${esc(text || cc.label)}</b> ${displayDuration(bb - a)}</div>`;
        break;
      }
    }
    body += `<div style="opacity:.65;font-size:11px">click for details</div>`;
    showTip(ev, `<div style="opacity:.8">${head}</div>${body}`);
  }

  function localXY(ev) {
    const r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }

  function zoomAt(x, factor) {
    const t = tOf(Math.max(LABEL_W, Math.min(LABEL_W + plotW(), x)));
    const t0 = t - (t - view.t0) * factor;
    const t1 = t + (view.t1 - t) * factor;
    view = clampView(t0, t1);
    draw();
    request(false);
  }

  function pan(dxPx) {
    const dt = (dxPx / plotW()) * (view.t1 - view.t0);
    view = clampView(view.t0 - dt, view.t1 - dt);
    draw();
    request(false);
  }

  function scrollLanes(d) {
    if (!meta) return;
    const max = Math.max(0, meta.lane_total - laneRows());
    const next = Math.max(0, Math.min(max, laneOffset + d));
    if (next !== laneOffset) { laneOffset = next; request(false); }
  }

  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [x, y] = localXY(ev);
    if (ev.shiftKey || (x < LABEL_W && y > lanesTop())) {
      scrollLanes(Math.sign(ev.deltaY || ev.deltaX) * 3);
      return;
    }
    if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { pan(-ev.deltaX); return; }
    const k = ev.deltaMode === 1 ? 40 : 1;
    zoomAt(x, Math.exp(ev.deltaY * k * 0.0018));
  }, { passive: false });

  canvas.addEventListener("mousedown", (ev) => {
    const [x, y] = localXY(ev);
    canvas.focus();
    drag = { x0: x, y0: y, x, y, moved: false, mode: y < AXIS_H && x >= LABEL_W ? "range" : "pan", off: laneOffset };
    canvas.style.cursor = drag.mode === "range" ? "col-resize" : "grabbing";
  });

  const onMove = (ev) => {
    const [x, y] = localXY(ev);
    if (drag) {
      const dx = x - drag.x;
      drag.moved = drag.moved || Math.abs(x - drag.x0) > 3 || Math.abs(y - drag.y0) > 3;
      drag.x = x; drag.y = y;
      if (drag.mode === "pan" && drag.moved) {
        pan(dx);
        const rows = Math.round((drag.y0 - y) / LANE_H);
        if (drag.y0 > lanesTop() && meta) {
          const max = Math.max(0, meta.lane_total - laneRows());
          const next = Math.max(0, Math.min(max, drag.off + rows));
          if (next !== laneOffset) { laneOffset = next; request(false); }
        }
      } else draw();
      tip.style.display = "none";
      return;
    }
    const r = canvas.getBoundingClientRect();
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) {
      if (hover) { hover = null; tip.style.display = "none"; draw(); }
      return;
    }
    hover = { x, y };
    draw();
    updateTip(ev, x, y);
  };
  window.addEventListener("mousemove", onMove);

  const onUp = (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    canvas.style.cursor = "grab";
    const [x, y] = localXY(ev);
    if (d.mode === "range" && d.moved) {
      const a = tOf(Math.max(LABEL_W, Math.min(d.x0, x))), b = tOf(Math.min(LABEL_W + plotW(), Math.max(d.x0, x)));
      view = clampView(a, b);
      draw();
      request(true);
      return;
    }
    if (!d.moved && x >= LABEL_W && meta) {
      const g = hitLane(y);
      if (g) {
        const slack = (4 / plotW()) * (view.t1 - view.t0);
        const lane = g.i < 2 ? -(g.i + 1) : g.ln.lane;
        model.send({ type: "click", lane, key: g.ln.key, t: tOf(x), slack });
      }
    }
    draw();
  };
  window.addEventListener("mouseup", onUp);

  canvas.addEventListener("dblclick", () => {
    view = { t0: 0, t1: duration() };
    draw();
    request(true);
  });

  canvas.addEventListener("keydown", (ev) => {
    const c = LABEL_W + plotW() / 2;
    const x = hover ? hover.x : c;
    if (ev.key === "w" || ev.key === "W" || ev.key === "+") zoomAt(x, 0.7);
    else if (ev.key === "s" || ev.key === "S" || ev.key === "-") zoomAt(x, 1 / 0.7);
    else if (ev.key === "a" || ev.key === "A" || ev.key === "ArrowLeft") pan(plotW() * 0.2);
    else if (ev.key === "d" || ev.key === "D" || ev.key === "ArrowRight") pan(-plotW() * 0.2);
    else if (ev.key === "ArrowDown") scrollLanes(1);
    else if (ev.key === "ArrowUp") scrollLanes(-1);
    else if (ev.key === "0") { view = { t0: 0, t1: duration() }; draw(); request(true); }
    else return;
    ev.preventDefault();
  });

  canvas.addEventListener("mouseleave", () => { if (!drag) { hover = null; tip.style.display = "none"; draw(); } });

  function onPayload() {
    meta = model.get("meta");
    data = decode(meta, model.get("payload"));
    if (meta && meta.jump) {
      view = { t0: meta.t0, t1: meta.t1 };
      laneOffset = meta.lane_offset || 0;
    }
    if (meta) laneOffset = Math.min(laneOffset, Math.max(0, meta.lane_total - 1));
    if (meta && wantedHeight() !== cssH) resize();
    canvas.dataset.blocks = meta ? String(meta.n) : "0";
    canvas.dataset.seq = meta ? String(meta.seq || 0) : "0";
    drawLegend();
    // "loading" until the kernel sent the counters it postponed.
    canvas.dataset.counters =
      meta && !(meta.counters || []).some((c) => c.loading) ? "ready" : "loading";
    draw();
  }

  model.on("change:meta", () => {
    const wasInflight = inflight;
    inflight = false;
    onPayload();
    if (wasInflight && dirty) request(true);
  });
  model.on("change:selected", draw);
  model.on("change:height", resize);
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "reset_view") { view = { t0: 0, t1: duration() }; request(true); }
  });

  const ro = new ResizeObserver(() => resize());
  ro.observe(root);
  onPayload();
  if (meta && !meta.jump) view = { t0: meta.t0, t1: meta.t1 };
  resize();
  // Tell the kernel the page is up (it may then add what it postponed).
  model.send({ type: "ready" });
  request(true);
  return () => {
    ro.disconnect();
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
  };
}

export default { render };
