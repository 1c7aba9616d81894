// public.js — the citizens' page: only what komposterd published under
// /open/ (index.json, then each date's latest ridership_route_day.json),
// so nothing here was not already through disclosure control. A suppressed
// cell (null in the package) is shown as "—", never as a number.
// What it shows is also left in window.KP_OPEN for tests and scripts.
"use strict";

const MAX_DATES = 31; // the most recent published dates shown

let state = null;

async function getJSON(path) {
  const r = await fetch(path);
  if (r.status === 404)
    return null;
  if (!r.ok)
    throw new Error(kpT("error.http") + " " + r.status + ": " + path);
  return r.json();
}

async function getText(path) {
  const r = await fetch(path);
  if (!r.ok)
    throw new Error(kpT("error.http") + " " + r.status + ": " + path);
  return r.text();
}

async function load() {
  document.body.dataset.loaded = "0";
  try {
    const index = await getJSON("/open/index.json");
    const dates = index ? index.dates.slice().sort((a, b) => a.date.localeCompare(b.date)).slice(-MAX_DATES) : [];
    const tables = await Promise.all(dates.map((d) => getJSON("/open/" + d.dir + "/" + d.latest +
                                                                "/ridership_route_day.json")));
    const key = dates.length ? await getText("/open/" + dates[dates.length - 1].dir + "/" +
                                             dates[dates.length - 1].latest + "/minisign.pub") : "";
    state = { dates, tables: tables.map((t) => t || []), key };
  } catch (e) {
    document.getElementById("error").hidden = false;
    document.getElementById("error").textContent = e.message || kpT("error.network");
    document.body.dataset.loaded = "error";
    return;
  }
  render();
  document.body.dataset.loaded = "1";
}

function render() {
  if (!state)
    return;
  if (state.dates.length === 0) {
    window.KP_OPEN = { dates: [], cells: {}, trend: [] };
    for (const id of ["trend", "byroute", "packages"])
      kpPanel(id, kpMessage("empty.open"), "empty");
    return;
  }
  const routes = new Map(); // route_id -> {route_id, name, DATE: accepted|null}
  const trend = [];
  const cells = {};
  state.dates.forEach((d, i) => {
    let sum = 0;
    cells[d.date] = {};
    for (const row of state.tables[i]) {
      const r = routes.get(row.route_id) ||
        { route_id: row.route_id, name: row.route_short_name || row.route_long_name || "" };
      r[d.date] = row.accepted;
      routes.set(row.route_id, r);
      cells[d.date][row.route_id] = row.accepted;
      if (row.accepted !== null)
        sum += row.accepted;
    }
    trend.push(sum);
  });
  window.KP_OPEN = { dates: state.dates.map((d) => d.date), cells, trend };
  kpChart("trend", state.dates.map((_, i) => i), trend, "col.accepted",
          (i) => Number.isInteger(i) && state.dates[i] ? kpDate(state.dates[i].date) : "", "col.date");
  // The route's GTFS name, when the operator imported a feed.
  const named = Array.from(routes.values()).some((r) => r.name !== "");
  const columns = [{ key: "route_id", label: "col.route" }];
  if (named)
    columns.push({ key: "name", label: "col.route_name" });
  for (const d of state.dates)
    columns.push({ key: d.date, label: d.date, num: true });
  const table = kpTable(columns, Array.from(routes.values()).sort((a, b) => a.route_id - b.route_id), true);
  // The date headers are dates, not keys of the strings: format them.
  const first = columns.length - state.dates.length;
  state.dates.forEach((d, i) => { table.tHead.rows[0].cells[first + i].textContent = kpDate(d.date); });
  const wrap = kpEl("div", { class: "scroll" });
  wrap.append(table, kpMessage("suppressed.note", "hint"));
  kpPanel("byroute", wrap);
  renderPackages();
}

function renderPackages() {
  const list = kpEl("ul", { class: "packages" });
  for (const d of state.dates.slice().reverse()) {
    const base = "/open/" + d.dir + "/" + d.latest + "/";
    const li = kpEl("li", { "data-date": d.date });
    li.append(kpEl("a", { href: base + "datapackage.json" }, kpDate(d.date) + " (" + d.latest + ")"), " ",
              kpEl("a", { href: base + "SHA256SUMS" }, "SHA256SUMS"), " ",
              kpEl("a", { href: base + "minisign.pub" }, "minisign.pub"));
    const origin = location.origin;
    li.appendChild(kpEl("pre", {},
      "mkdir p && cd p && for f in $(curl -s " + origin + base + "SHA256SUMS | awk '{print $2}') SHA256SUMS datapackage.json.minisig; do\n" +
      "    curl -sO " + origin + base + "$f; done\n" +
      "sha256sum -c SHA256SUMS\n" +
      "minisign -Vm datapackage.json -p minisign.pub"));
    list.appendChild(li);
  }
  const wrap = kpEl("div");
  wrap.append(kpEl("h3", {}, kpT("verify.key")), kpEl("pre", { id: "pubkey" }, state.key),
              kpEl("h3", {}, kpT("verify.title")), list);
  kpPanel("packages", wrap);
}

document.addEventListener("DOMContentLoaded", () => {
  kpApplyStrings();
  kpLangSwitch(render);
  load();
});
