// A sortable, clickable table for the viewer's tabs. Cells arrive raw (numbers
// or strings) with a kind per column; formatting and sorting happen here.

function fmt(v, kind) {
  if (v === null || v === undefined) return "–";
  switch (kind) {
    case "ns": return displayDuration(v);
    case "int": return typeof v === "number" ? v.toLocaleString() : String(v);
    case "pct": return typeof v === "number" ? (v * 100).toFixed(1) + "%" : String(v);
    case "float": return typeof v === "number" ? v.toFixed(4) : String(v);
    case "bytes": return displayBytes(v);
    default: return String(v);
  }
}

function render({ model, el }) {
  el.classList.add("gtdf-table");
  const wrap = document.createElement("div");
  wrap.className = "gtdf-table-wrap";
  const info = document.createElement("div");
  info.className = "gtdf-table-info";
  const table = document.createElement("table");
  table.className = "gtdf-grid";
  wrap.append(table);
  el.append(wrap, info);
  let sortCol = -1, sortDir = -1;

  function draw() {
    const cols = model.get("columns") || [];
    const rows = (model.get("rows") || []).map((r, i) => [r, i]);
    const ids = model.get("row_ids") || [];
    const selected = model.get("selected");
    wrap.style.maxHeight = (model.get("max_height") || 360) + "px";
    if (sortCol >= 0 && sortCol < cols.length) {
      rows.sort((a, b) => {
        const x = a[0][sortCol], y = b[0][sortCol];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * sortDir;
      });
    }
    const maxes = cols.map((c, j) => c.bar ? Math.max(1e-12, ...rows.map((r) => Number(r[0][j]) || 0)) : 0);
    table.innerHTML = "";
    const thead = document.createElement("thead");
    const htr = document.createElement("tr");
    cols.forEach((c, j) => {
      const th = document.createElement("th");
      th.textContent = c.label + (j === sortCol ? (sortDir > 0 ? " ▲" : " ▼") : "");
      th.title = c.title || "click to sort";
      if (c.kind && c.kind !== "str") th.className = "num";
      th.addEventListener("click", () => {
        if (sortCol === j) sortDir = -sortDir; else { sortCol = j; sortDir = c.kind === "str" ? 1 : -1; }
        draw();
      });
      htr.append(th);
    });
    thead.append(htr);
    const tbody = document.createElement("tbody");
    for (const [r, i] of rows) {
      const tr = document.createElement("tr");
      const id = ids.length ? ids[i] : i;
      if (id === selected) tr.className = "sel";
      cols.forEach((c, j) => {
        const td = document.createElement("td");
        const v = r[j];
        const text = fmt(v, c.kind);
        if (c.kind && c.kind !== "str") td.className = "num";
        if (c.bar && typeof v === "number") {
          const pct = Math.max(0, Math.min(100, (v / maxes[j]) * 100));
          td.style.background = `linear-gradient(90deg, rgba(78,121,167,.22) ${pct}%, transparent ${pct}%)`;
        }
        if (c.code) { const code = document.createElement("code"); code.textContent = text; td.append(code); }
        else td.textContent = text;
        if (c.kind === "str" && String(text).length > 60) td.title = String(text);
        tr.append(td);
      });
      tr.addEventListener("click", () => {
        model.set("selected", id);
        model.set("clicks", (model.get("clicks") || 0) + 1);
        model.save_changes();
      });
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const note = model.get("note") || "";
    info.textContent = note;
    info.style.display = note ? "block" : "none";
  }
  for (const k of ["columns", "rows", "row_ids", "selected", "note", "max_height"]) model.on("change:" + k, draw);
  draw();
}

export default { render };
