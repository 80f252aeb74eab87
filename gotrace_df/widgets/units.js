// The display format of durations and byte counts, shared by the widgets
// (timeline.py and table.py put this file before their own). It writes what
// gotrace_df.units.display_duration and display_bytes write: the value
// rounded half up to the last digit shown, "–" when it is missing.

function displayFixed(q, one) {
  const a = Math.abs(q);
  const frac = String(a % one).padStart(String(one).length - 1, "0");
  return (q < 0 ? "-" : "") + Math.floor(a / one) + "." + frac;
}

function whole(x) {
  if (x === null || x === undefined || x === "") return null;
  const v = Number(x);
  return Number.isFinite(v) ? Math.floor(v + 0.5) : null;
}

function displayDuration(ns) {
  const n = whole(ns);
  if (n === null) return "–";
  for (const [unit, step] of [["s", 1e6], ["ms", 1e3], ["µs", 1]]) {
    // step is the last digit's unit: the scale over 1000.
    if (Math.abs(n) >= step * 1000) return displayFixed(Math.floor(n / step + 0.5), 1000) + " " + unit;
  }
  return n + " ns";
}

function displayBytes(b) {
  const n = whole(b);
  if (n === null) return "–";
  for (const [unit, shift] of [["TiB", 40], ["GiB", 30], ["MiB", 20], ["KiB", 10]]) {
    const scale = 2 ** shift;
    if (Math.abs(n) >= scale) return displayFixed(Math.floor((n * 10) / scale + 0.5), 10) + " " + unit;
  }
  return n + " B";
}
