// operator.js — the operators' page: ridership of a range of service dates from
// /v1/ridership (by hour, by route, by fare product), the devices from
// /v1/devices and the NVR cameras from /v1/cameras, with the token kept in sessionStorage ("kp.token").
// What it shows is also left in window.KP_DASH for tests and scripts.
"use strict";

const SILENT_MS = 15 * 60 * 1000; // no frame for this long: silent
const SKEW_MS = 60 * 1000;         // a clock off by more than a minute
const TOP_STOPS = 15;

let state = null; // the last answers, re-rendered on a language switch

class AuthError extends Error {
  constructor(status) { super("auth " + status); this.status = status; }
}

async function api(path) {
  const token = sessionStorage.getItem("kp.token");
  let r;
  try {
    r = await fetch(path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
  } catch (e) {
    throw new Error(kpT("error.network"));
  }
  if (r.status === 401 || r.status === 403)
    throw new AuthError(r.status);
  if (!r.ok) {
    let why = "";
    try { why = (await r.json()).error; } catch (e) { /* not JSON */ }
    throw new Error(kpT("error.http") + " " + r.status + (why ? ": " + why : ""));
  }
  return r.json();
}

function showLogin(messageKey) {
  document.getElementById("login").hidden = false;
  document.getElementById("dash").hidden = true;
  const msg = document.getElementById("auth-msg");
  msg.hidden = !messageKey;
  msg.dataset.status = messageKey || "";
  msg.textContent = messageKey ? kpT(messageKey) : "";
}

let loads = 0; // only the answers of the last load are shown

// from..to (service dates; both "" for the server's today).
async function load(from, to) {
  const q = from && to ? "&from=" + from + "&to=" + to : "";
  const mine = ++loads;
  document.body.dataset.loaded = "0";
  try {
    const [hour, route, stop, fare, rate, devices, cams] = await Promise.all([
      api("/v1/ridership?by=hour" + q), api("/v1/ridership?by=route" + q), api("/v1/ridership?by=stop" + q),
      api("/v1/ridership?by=fare" + q), api("/v1/ridership?with_cameras=1&by=route" + q), api("/v1/devices"),
      api("/v1/cameras")]);
    if (mine !== loads)
      return;
    state = { hour, route, stop, fare, rate, devices, cams, now: Date.now() };
  } catch (e) {
    if (mine !== loads)
      return;
    state = null;
    if (e instanceof AuthError) {
      sessionStorage.removeItem("kp.token");
      showLogin(e.status === 401 ? "auth.401" : "auth.403");
    } else {
      document.getElementById("error").hidden = false;
      document.getElementById("error").textContent = e.message;
    }
    document.body.dataset.loaded = "error";
    return;
  }
  document.getElementById("error").hidden = true;
  document.getElementById("from").value = state.hour.from;
  document.getElementById("to").value = state.hour.to;
  render();
  document.body.dataset.loaded = "1";
}

function render() {
  if (!state)
    return;
  document.getElementById("login").hidden = true;
  document.getElementById("dash").hidden = false;
  const byHour = new Array(24).fill(0);
  for (const r of state.hour.rows)
    byHour[r.hour] = r.accepted;
  const routes = state.route.rows.slice().sort((a, b) => b.accepted - a.accepted || a.route_id - b.route_id);
  const stops = state.stop.rows.slice().sort((a, b) => b.accepted - a.accepted || a.stop_id - b.stop_id);
  const fares = state.fare.rows.slice().sort((a, b) => b.accepted - a.accepted || a.fare_product - b.fare_product);
  window.KP_DASH = {
    from: state.hour.from,
    to: state.hour.to,
    hourly: byHour,
    total: state.hour.total,
    routes: routes.map((r) => ({ route_id: r.route_id, accepted: r.accepted })),
    stops: stops.map((r) => ({ stop_id: r.stop_id, accepted: r.accepted })),
    fares: fares.map((r) => ({ fare_product: r.fare_product, accepted: r.accepted })),
    rates: rates(state.rate.rows),
    cameras: cameraHours(state.rate.rows),
    devices: state.devices.devices.map((d) => ({ id: d.id, kind: d.kind, operator: d.operator, flags: flags(d) })),
    camlist: cameraRows(state.cams),
  };
  const total = document.getElementById("total");
  total.dataset.value = String(state.hour.total.accepted);
  total.textContent = kpT("total") + ": " + kpNum(state.hour.total.accepted);
  if (state.hour.rows.length === 0) {
    for (const id of ["hourly", "routes", "stops", "fares"])
      kpPanel(id, kpMessage("empty.day"), "empty");
  } else {
    kpChart("hourly", byHour.map((_, h) => h), byHour, "col.accepted", (h) => String(h).padStart(2, "0") + ":00", "col.hour");
    kpPanel("routes", kpTable([
      { key: "route_id", label: "col.route" },
      { key: "accepted", label: "col.accepted", num: true, fmt: bar(routes[0].accepted) },
      { key: "denied", label: "col.denied", num: true },
      { key: "amount", label: "col.amount", num: true, fmt: (v) => kpMoney(v) }], routes, true));
    kpPanel("stops", kpTable([
      { key: "stop_id", label: "col.stop" },
      { key: "accepted", label: "col.accepted", num: true, fmt: bar(stops[0].accepted) },
      { key: "denied", label: "col.denied", num: true }], stops.slice(0, TOP_STOPS), true));
    kpPanel("fares", kpTable([
      { key: "fare_product", label: "col.fare" },
      { key: "accepted", label: "col.accepted", num: true },
      { key: "amount", label: "col.amount", num: true, fmt: (v) => kpMoney(v) }], fares, true));
  }
  renderRates();
  renderCameras();
  renderDevices();
  renderCameraList();
  renderLive();
}

// The validation rate per route and source of the counts (APC, cameras):
// accepted taps ÷ counted boardings over the day's hours, lowest first.
function rates(rows) {
  const by = new Map();
  for (const r of rows) {
    const k = r.route_id + "/" + r.source;
    const g = by.get(k) || { route_id: r.route_id, source: r.source, boardings: 0, accepted: 0 };
    g.boardings += r.boardings;
    g.accepted += r.accepted;
    by.set(k, g);
  }
  return Array.from(by.values()).map((g) => ({ ...g, rate: g.boardings > 0 ? g.accepted / g.boardings : null }))
    .sort((a, b) => (a.rate === null) - (b.rate === null) || a.rate - b.rate || a.route_id - b.route_id);
}

// Counted boardings beside the accepted taps of the same vehicles, per hour
// of the day (the dates and routes summed), for each source of counts:
// cameras (nvr) and onboard counters (signed) are never added together.
function cameraHours(rows) {
  const out = {};
  for (const r of rows) {
    const s = out[r.source] || (out[r.source] = { boardings: new Array(24).fill(0), accepted: new Array(24).fill(0) });
    s.boardings[r.hour] += r.boardings;
    s.accepted[r.hour] += r.accepted;
  }
  return out;
}

function renderCameras() {
  const by = window.KP_DASH.cameras;
  const sources = ["nvr", "signed"].filter((src) => by[src]);
  if (sources.length === 0)
    return kpPanel("cameras", kpMessage("empty.rates"), "empty");
  const series = [];
  for (const src of sources)
    series.push({ label: "cams.boardings." + src, values: by[src].boardings },
                { label: "cams.accepted." + src, values: by[src].accepted });
  kpChartSeries("cameras", by[sources[0]].boardings.map((_, h) => h), series,
                (h) => String(h).padStart(2, "0") + ":00", "col.hour");
}

function renderRates() {
  const list = window.KP_DASH.rates;
  if (list.length === 0)
    return kpPanel("rates", kpMessage("empty.rates"), "empty");
  const pct = (v) => new Intl.NumberFormat(kpLocale(), { style: "percent", maximumFractionDigits: 1 }).format(v);
  kpPanel("rates", kpTable([
    { key: "route_id", label: "col.route" }, { key: "source", label: "col.source" },
    { key: "boardings", label: "col.boardings", num: true }, { key: "accepted", label: "col.accepted", num: true },
    { key: "rate", label: "col.rate", num: true, fmt: pct }], list, true));
}

// A number with a bar as long as its share of the largest.
function bar(max) {
  return (v) => {
    const span = kpEl("span", { class: "bar" });
    span.style.setProperty("--w", (max > 0 ? (100 * v) / max : 0).toFixed(1) + "%");
    span.textContent = kpNum(v);
    return span;
  };
}

function flags(d) {
  const f = [];
  if (d.last_seen === null || state.now - d.last_seen > SILENT_MS)
    f.push("silent");
  if (d.gaps > 0)
    f.push("gaps");
  // clock_skewed also sees a device whose every frame is refused (NACK 6).
  if (d.clock_skewed || (d.clock_skew_ms !== null && Math.abs(d.clock_skew_ms) > SKEW_MS))
    f.push("skew");
  if (Object.values(d.rejects || {}).some((n) => n > 0))
    f.push("rejects");
  return f;
}

// The operator filter's choices: every operator of the registry, keeping the chosen one.
function deviceOperators(list, chosen) {
  const sel = document.getElementById("dev-operator");
  const ops = Array.from(new Set(list.map((d) => d.operator))).sort();
  sel.replaceChildren(kpEl("option", { value: "" }, kpT("filter.all")));
  for (const o of ops)
    sel.appendChild(kpEl("option", { value: o }, o));
  sel.value = ops.includes(chosen) ? chosen : "";
}

function renderDevices() {
  const list = state.devices.devices;
  if (list.length === 0)
    return kpPanel("devices", kpMessage("empty.devices"), "empty");
  const kind = document.getElementById("dev-kind").value;
  const flag = document.getElementById("dev-flag").value;
  const op = document.getElementById("dev-operator").value;
  deviceOperators(list, op);
  const rows = list.map((d) => ({
    id: d.id, kind: d.kind, state: d.state, operator: d.operator, vehicle_id: d.vehicle_id, last_seen: d.last_seen,
    frames: d.frames, gaps: d.gaps,
    skew: d.clock_skew_ms === null ? null : Math.round(d.clock_skew_ms / 1000) || 0,
    rejects: Object.values(d.rejects || {}).reduce((a, b) => a + b, 0),
    flags: flags(d),
  })).filter((r) => (!kind || r.kind === kind) && (!op || r.operator === op) &&
               (!flag || (flag === "any" ? r.flags.length > 0 : r.flags.includes(flag))));
  const table = kpTable([
    { key: "id", label: "col.id" }, { key: "kind", label: "col.kind" }, { key: "state", label: "col.state" },
    { key: "operator", label: "col.operator" }, { key: "vehicle_id", label: "col.vehicle" },
    { key: "last_seen", label: "col.last_seen", num: true, fmt: (v) => kpDateTime(v) },
    { key: "frames", label: "col.frames", num: true }, { key: "gaps", label: "col.gaps", num: true },
    { key: "skew", label: "col.skew", num: true }, { key: "rejects", label: "col.rejects", num: true },
    { key: "flags", label: "col.flags", fmt: (v) => v.map((f) => kpT("flag." + f)).join(", ") }], rows, true);
  if (rows.length === 0)
    return kpPanel("devices", kpMessage("empty.filter"), "empty");
  rows.forEach((r, i) => { if (r.flags.length) table.tBodies[0].rows[i].classList.add("flagged"); });
  const wrap = kpEl("div", { class: "scroll" });
  wrap.appendChild(table);
  kpPanel("devices", wrap);
}

// Where a camera stands, as one string: "V42/2" onboard, "S7" at a stop.
function cameraPlace(c) {
  return c.place === "onboard" ? kpT("place.onboard") + " " + c.vehicle_id + "/" + c.door
                               : kpT("place.street") + " " + c.stop_id;
}

// Silent: no event received for SILENT_MS, or the NVR says it is offline.
function cameraRows(doc) {
  const offline = !doc.nvr.online;
  return doc.cameras.map((c) => {
    const last = c.last_event === null ? null : c.last_event.received_at;
    const silent = offline || last === null || state.now - last > SILENT_MS;
    return { name: c.name, place: cameraPlace(c), last_event: last, status: silent ? "silent" : "ok" };
  });
}

function renderCameraList() {
  const rows = window.KP_DASH.camlist;
  const nvr = document.getElementById("nvr-state");
  const n = state.cams.nvr;
  nvr.dataset.online = String(n.online);
  nvr.textContent = kpT(n.online ? "nvr.online" : "nvr.offline") + (n.since === null ? "" : " " + kpT("nvr.since") + " " + kpDateTime(n.since));
  if (rows.length === 0)
    return kpPanel("camlist", kpMessage("empty.cameras"), "empty");
  const table = kpTable([
    { key: "name", label: "col.camera" }, { key: "place", label: "col.place" },
    { key: "last_event", label: "col.last_event", num: true, fmt: (v) => kpDateTime(v) },
    { key: "status", label: "col.status", fmt: (v) => kpT("cam." + v) }], rows, true);
  rows.forEach((r, i) => { if (r.status === "silent") table.tBodies[0].rows[i].classList.add("flagged"); });
  kpPanel("camlist", table);
}

function init() {
  kpApplyStrings();
  kpLangSwitch(render);
  document.getElementById("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = document.getElementById("token").value.trim();
    if (!t)
      return;
    sessionStorage.setItem("kp.token", t);
    document.getElementById("token").value = "";
    load(document.getElementById("from").value, document.getElementById("to").value);
  });
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem("kp.token");
    state = null;
    showLogin(null);
  });
  document.getElementById("range").addEventListener("submit", (ev) => {
    ev.preventDefault();
    load(document.getElementById("from").value, document.getElementById("to").value);
  });
  for (const id of ["dev-kind", "dev-flag", "dev-operator"])
    document.getElementById(id).addEventListener("change", () => state && renderDevices());
  liveStart();
  if (sessionStorage.getItem("kp.token"))
    load("", "");
  else
    showLogin(null);
}

document.addEventListener("DOMContentLoaded", init);
