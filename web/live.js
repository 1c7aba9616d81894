// live.js — the operator page's live panel: the daemon's own counters from
// /metrics, read every REFRESH_MS without reloading the page. Rates are the
// change of a counter between two reads; the commit latency is the mean
// over the same interval (the histogram's _sum and _count). What it shows
// is also left in window.KP_LIVE.
"use strict";

const REFRESH_MS = 3000;

// The sample lines of the Prometheus text format ("name{labels} value";
// comments skipped): {"name{labels}": value}.
function kpSamples(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m)
      out[m[1]] = Number(m[2]);
  }
  return out;
}

let liveLast = null;

async function liveRead() {
  let metrics, ready;
  try {
    const [m, r] = await Promise.all([fetch("/metrics", { cache: "no-store" }), fetch("/readyz", { cache: "no-store" })]);
    metrics = kpSamples(await m.text());
    ready = { ok: r.ok, text: (await r.text()).trim() };
  } catch (e) {
    kpPanel("live", kpMessage("error.network", "alert"), "error");
    return;
  }
  const now = Date.now();
  const live = { at: now, samples: metrics, ready, updates: (window.KP_LIVE ? window.KP_LIVE.updates : 0) + 1,
                 rejects: {} };
  for (const [k, v] of Object.entries(metrics)) {
    const m = /^komposter_frames_rejected_total\{reason="([^"]*)"\}$/.exec(k);
    if (m && v > 0)
      live.rejects[m[1]] = v;
  }
  if (liveLast) {
    const dt = (now - liveLast.at) / 1000;
    const d = (name) => (metrics[name] || 0) - (liveLast.samples[name] || 0);
    live.frames_per_s = d("komposter_frames_received_total") / dt;
    live.taps_per_s = d("komposter_taps_stored_total") / dt;
    const n = d("komposter_commit_seconds_count");
    live.commit_ms = n > 0 ? (1000 * d("komposter_commit_seconds_sum")) / n : null;
  }
  liveLast = live;
  window.KP_LIVE = live;
  renderLive();
}

function tile(labelKey, value, cls) {
  const t = kpEl("div", { class: "tile" + (cls ? " " + cls : "") });
  t.append(kpEl("span", { class: "label" }, kpT(labelKey)), kpEl("strong", {}, value));
  return t;
}

function renderLive() {
  const l = window.KP_LIVE;
  if (!l)
    return;
  const s = l.samples;
  const rate = (v) => v === undefined ? "…" : new Intl.NumberFormat(kpLocale(), { maximumFractionDigits: 1 }).format(v);
  const full = (s["komposter_storage_full_total"] || 0) > 0 || (s["komposter_storage_errors_total"] || 0) > 0;
  const grid = kpEl("div", { class: "tiles" });
  grid.append(
    tile("live.frames", rate(l.frames_per_s)),
    tile("live.taps", rate(l.taps_per_s)),
    tile("live.commit", l.commit_ms === undefined || l.commit_ms === null ? "—" : rate(l.commit_ms)),
    tile("live.stored", kpNum(s["komposter_taps_stored_total"] || 0)),
    tile("live.ready", l.ready.ok ? kpT("live.yes") : l.ready.text, l.ready.ok ? "" : "bad"),
    tile("live.storage", full ? kpT("live.alarm") : kpT("live.ok"), full ? "bad" : ""));
  const rejects = Object.entries(l.rejects);
  const wrap = kpEl("div");
  wrap.appendChild(grid);
  if (rejects.length)
    wrap.appendChild(kpTable([{ key: "reason", label: "col.reason" }, { key: "n", label: "col.rejects", num: true }],
                             rejects.map(([reason, n]) => ({ reason, n })), true));
  kpPanel("live", wrap);
}

function liveStart() {
  liveRead();
  setInterval(liveRead, REFRESH_MS);
}
