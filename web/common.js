// common.js — what both pages share: the language switch, translating the
// elements marked data-i18n, building tables, and the states of a panel.
"use strict";

function kpApplyStrings(root) {
  document.documentElement.lang = kpLang();
  for (const el of (root || document).querySelectorAll("[data-i18n]"))
    el.textContent = kpT(el.dataset.i18n);
}

// A <select id="lang"> that re-renders the page (render()) on change.
function kpLangSwitch(render) {
  const sel = document.getElementById("lang");
  sel.replaceChildren();
  for (const l of KP_LANGS) {
    const o = document.createElement("option");
    o.value = l;
    o.textContent = KP_STRINGS[l]["lang.name"];
    sel.appendChild(o);
  }
  sel.value = kpLang();
  sel.addEventListener("change", () => {
    kpSetLang(sel.value);
    kpApplyStrings();
    render();
  });
}

function kpEl(tag, attrs, text) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {}))
    el.setAttribute(k, v);
  if (text !== undefined)
    el.textContent = text;
  return el;
}

// A table: columns [{key, label, num, fmt}], rows of objects. Each numeric
// cell carries its raw value in data-value (tests read it, sorting uses it).
function kpTable(columns, rows, sortable) {
  const table = kpEl("table");
  const head = kpEl("tr");
  columns.forEach((c, i) => {
    const th = kpEl("th", { scope: "col" }, kpT(c.label));
    if (sortable) {
      th.classList.add("sortable");
      th.addEventListener("click", () => kpSortTable(table, i, c.num));
    }
    head.appendChild(th);
  });
  table.appendChild(kpEl("thead")).appendChild(head);
  const body = table.appendChild(kpEl("tbody"));
  for (const r of rows) {
    const tr = kpEl("tr");
    for (const c of columns) {
      const v = r[c.key];
      const td = kpEl("td", { "data-key": c.key });
      if (c.num)
        td.classList.add("num");
      if (v === null || v === undefined) {
        td.textContent = c.num ? kpT("suppressed") : "";
        td.classList.add("suppressed");
      } else {
        td.dataset.value = String(v);
        if (c.fmt)
          td.append(c.fmt(v, r));
        else
          td.textContent = c.num ? kpNum(v) : String(v);
      }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  return table;
}

function kpSortTable(table, col, num) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const dir = table.dataset.sortCol === String(col) && table.dataset.sortDir === "asc" ? "desc" : "asc";
  const key = (tr) => {
    const td = tr.cells[col];
    const v = td.dataset.value !== undefined ? td.dataset.value : td.textContent;
    return num ? (v === "" || v === undefined ? -Infinity : Number(v)) : v;
  };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return dir === "asc" ? c : -c;
  });
  body.append(...rows);
  table.dataset.sortCol = String(col);
  table.dataset.sortDir = dir;
}

// A panel's content: a node, or a message with a state (empty, error, loading).
function kpPanel(id, node, state) {
  const p = document.getElementById(id);
  p.replaceChildren(node);
  p.dataset.state = state || "ready";
}

function kpMessage(key, cls) {
  return kpEl("p", { class: cls || "empty" }, kpT(key));
}

const KP_CHART_HEIGHT = 260;
let kpCharts = []; // {u, el}: refitted when the window changes size

function kpChartWidth(el) {
  return Math.max(280, Math.min(el.clientWidth || 800, 1000));
}

window.addEventListener("resize", () => {
  kpCharts = kpCharts.filter((c) => document.contains(c.u.root));
  for (const c of kpCharts)
    c.u.setSize({ width: kpChartWidth(c.el), height: KP_CHART_HEIGHT });
});

const KP_STROKES = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700"];

// A uPlot chart of one series over x values (numbers), fitted to its panel.
function kpChart(id, xs, ys, label, xfmt, xlabel) {
  return kpChartSeries(id, xs, [{ label, values: ys, fill: "rgba(31,111,235,0.12)" }], xfmt, xlabel);
}

// The same with several series [{label (a string key), values, fill}], one colour each.
function kpChartSeries(id, xs, series, xfmt, xlabel) {
  const el = document.getElementById(id);
  const width = kpChartWidth(el);
  const opts = {
    width, height: KP_CHART_HEIGHT,
    series: [{ label: kpT(xlabel), value: (u, v) => v === null ? "" : xfmt(v) }].concat(series.map((s, i) => ({
      label: kpT(s.label), stroke: KP_STROKES[i % KP_STROKES.length], fill: s.fill, width: 2,
      value: (u, v) => v === null ? "" : kpNum(v) }))),
    axes: [{ values: (u, vals) => vals.map(xfmt) }, { values: (u, vals) => vals.map((v) => kpNum(v)) }],
    scales: { x: { time: false } },
    legend: { show: true },
  };
  const holder = kpEl("div", { class: "chart" });
  kpPanel(id, holder);
  const u = new uPlot(opts, [xs].concat(series.map((s) => s.values)), holder);
  kpCharts.push({ u, el });
  return u;
}
