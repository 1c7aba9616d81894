// live.js — the operator page's live panel: the daemon's own counters from
// GET /v1/live (JSON, the operator's token), read every REFRESH_MS without
// reloading the page. Rates are the change of a counter between two reads;
// the commit latency is the mean over the same interval (the histogram's
// sum and count). The rates of the last KEEP_MS stay in the page, drawn as
// a uPlot line chart. What it shows is also left in window.KP_LIVE.
"use strict";

const REFRESH_MS = 3000;
const KEEP_MS = 5 * 60 * 1000;

let liveLast = null;
let liveChart = null;
const liveHistory = { t: [], frames: [], taps: [] }; // t: seconds since the epoch

function liveKeep(at, frames, taps) {
  liveHistory.t.push(at / 1000);
  liveHistory.frames.push(frames);
  liveHistory.taps.push(taps);
  while (liveHistory.t.length && liveHistory.t[0] < (at - KEEP_MS) / 1000)
    for (const k of Object.keys(liveHistory))
      liveHistory[k].shift();
}

async function liveRead() {
  if (!sessionStorage.getItem("kp.token"))
    return;
  let doc;
  try {
    doc = await api("/v1/live");
  } catch (e) {
    if (e instanceof AuthError)
      return; // the ridership load shows the login with its message
    document.getElementById("live-tiles").replaceChildren(kpMessage("error.network", "alert"));
    document.getElementById("live").dataset.state = "error";
    return;
  }
  const now = Date.now();
  const live = { at: now, doc, updates: (window.KP_LIVE ? window.KP_LIVE.updates : 0) + 1, rejects: {},
                 history: liveHistory };
  for (const [reason, n] of Object.entries(doc.komposter_frames_rejected_total))
    if (n > 0)
      live.rejects[reason] = n;
  if (liveLast) {
    const dt = (now - liveLast.at) / 1000;
    const d = (name) => doc[name] - liveLast.doc[name];
    live.frames_per_s = d("komposter_frames_received_total") / dt;
    live.taps_per_s = d("komposter_taps_stored_total") / dt;
    const c = doc.komposter_commit_seconds, p = liveLast.doc.komposter_commit_seconds;
    live.commit_ms = c.count > p.count ? (1000 * (c.sum - p.sum)) / (c.count - p.count) : null;
    liveKeep(now, live.frames_per_s, live.taps_per_s);
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

function liveTimeFmt(sec) {
  return new Intl.DateTimeFormat(kpLocale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .format(new Date(sec * 1000));
}

// The chart of frames/s and taps/s; made once, then given new data (and
// made again on a language switch, for its labels).
function renderLiveChart() {
  const el = document.getElementById("live-chart");
  const data = [liveHistory.t, liveHistory.frames, liveHistory.taps];
  if (liveChart && liveChart.lang === kpLang() && document.contains(liveChart.u.root)) {
    liveChart.u.setData(data);
    return;
  }
  const rate = (u, v) => v === null ? "" : new Intl.NumberFormat(kpLocale(), { maximumFractionDigits: 1 }).format(v);
  const opts = {
    width: kpChartWidth(el), height: KP_CHART_HEIGHT,
    series: [{ label: kpT("live.time"), value: (u, v) => v === null ? "" : liveTimeFmt(v) },
             { label: kpT("live.frames"), stroke: "#1f6feb", width: 2, value: rate },
             { label: kpT("live.taps"), stroke: "#d1242f", width: 2, value: rate }],
    axes: [{ values: (u, vals) => vals.map(liveTimeFmt) }, { values: (u, vals) => vals.map((v) => kpNum(v)) }],
    // The last KEEP_MS whatever the points: one point is not a zero-width axis.
    scales: { x: { range: (u, min, max) => [max - KEEP_MS / 1000, max] },
              y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    legend: { show: true },
  };
  el.replaceChildren();
  const u = new uPlot(opts, data, el);
  liveChart = { u, lang: kpLang() };
  kpCharts.push({ u, el });
}

function renderLive() {
  const l = window.KP_LIVE;
  if (!l)
    return;
  const s = l.doc;
  const rate = (v) => v === undefined ? "…" : new Intl.NumberFormat(kpLocale(), { maximumFractionDigits: 1 }).format(v);
  const full = s.komposter_storage_full_total > 0 || s.komposter_storage_errors_total > 0 || !s.ready.storage_ok;
  const ready = s.ready.subscribed && s.ready.storage_ok;
  const grid = kpEl("div", { class: "tiles" });
  grid.append(
    tile("live.frames", rate(l.frames_per_s)),
    tile("live.taps", rate(l.taps_per_s)),
    tile("live.commit", l.commit_ms === undefined || l.commit_ms === null ? "—" : rate(l.commit_ms)),
    tile("live.stored", kpNum(s.komposter_taps_stored_total)),
    tile("live.ready", ready ? kpT("live.yes") : kpT(s.ready.subscribed ? "live.not_storing" : "live.not_subscribed"),
         ready ? "" : "bad"),
    tile("live.storage", full ? kpT("live.alarm") : kpT("live.ok"), full ? "bad" : ""));
  grid.querySelectorAll(".tile")[3].dataset.value = String(s.komposter_taps_stored_total);
  document.getElementById("live-tiles").replaceChildren(grid);
  document.getElementById("live").dataset.state = "ready";
  renderLiveChart();
  const rejects = Object.entries(l.rejects);
  document.getElementById("live-rejects").replaceChildren(rejects.length
    ? kpTable([{ key: "reason", label: "col.reason" }, { key: "n", label: "col.rejects", num: true }],
              rejects.map(([reason, n]) => ({ reason, n })), true)
    : kpEl("span"));
}

function liveStart() {
  liveRead();
  setInterval(liveRead, REFRESH_MS);
}
