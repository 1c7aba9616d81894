// dashboard.mjs — drives Debian's Chromium (headless, through
// playwright-core) over komposterd's dashboards for tests/e2e/test_dashboard:
//   node dashboard.mjs BASE_URL TOKEN SHOT_DIR
// Prints one JSON document of what the pages showed (the C test compares
// it with the API and the published packages); exits 1 with one line on
// stderr when the browser cannot be driven.
import { chromium } from "playwright-core";

const [base, token, shots] = process.argv.slice(2);
const browserPath = process.env.KP_CHROMIUM || "/usr/bin/chromium";
const patience = 10000;

function cells(page, selector) {
  return page.$$eval(selector + " tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells).map((td) => ({
    key: td.dataset.key, value: td.dataset.value === undefined ? null : td.dataset.value,
    text: td.textContent, suppressed: td.classList.contains("suppressed") }))));
}

// The ids of the devices table's rows, in order.
function deviceIds(page) {
  return page.$$eval("#devices tbody tr td[data-key='id']", (tds) => tds.map((td) => td.dataset.value));
}

// Sorting by a click on a header and each filter change the rows.
async function deviceFilters(page) {
  const out = { all: await deviceIds(page) };
  const col = await page.$$eval("#devices th", (ths) => ths.findIndex((th) => th.textContent === kpT("col.vehicle")));
  const vehicles = () => page.$$eval("#devices tbody tr td[data-key='vehicle_id']", (tds) => tds.map((td) => td.dataset.value));
  out.vehicles = await vehicles();
  await page.click(`#devices th:nth-child(${col + 1})`);
  out.by_vehicle_up = await vehicles();
  await page.click(`#devices th:nth-child(${col + 1})`);
  out.by_vehicle_down = await vehicles();
  await page.selectOption("#dev-kind", "apc");
  out.apc = await deviceIds(page);
  await page.selectOption("#dev-kind", "validator");
  out.validator = await deviceIds(page);
  await page.selectOption("#dev-kind", "");
  out.operators = await page.$$eval("#dev-operator option", (os) => os.map((o) => o.value).filter((v) => v));
  await page.selectOption("#dev-operator", out.operators[0]);
  out.operator = await deviceIds(page);
  await page.selectOption("#dev-operator", "");
  await page.selectOption("#dev-flag", "silent");
  out.silent = await deviceIds(page);
  await page.selectOption("#dev-flag", "skew");
  out.skew = await deviceIds(page);
  out.skew_state = await page.$eval("#devices", (el) => el.dataset.state);
  await page.selectOption("#dev-flag", "");
  out.registry = await page.evaluate(() => window.KP_DASH.devices);
  return out;
}

async function operator(page) {
  const out = {};
  await page.goto(base + "/ui/operator.html");
  await page.fill("#token", "kpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#auth-msg:not([hidden])", { timeout: patience });
  out.wrong_token = await page.$eval("#auth-msg", (el) => ({ status: el.dataset.status, text: el.textContent }));
  out.wrong_token.chart_shown = await page.isVisible("#dash");
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("body[data-loaded='1']", { timeout: patience });
  await page.waitForSelector("#hourly .uplot", { timeout: patience });
  out.dash = await page.evaluate(() => window.KP_DASH);
  // Two reads of /v1/live give one point of the rates' chart. The fleet has
  // stopped: the counters stand still, so the C test compares them with its
  // own /v1/live read afterwards.
  await page.waitForFunction(() => window.KP_LIVE && window.KP_LIVE.updates >= 2, null, { timeout: patience });
  out.live = await page.evaluate(() => {
    const l = window.KP_LIVE;
    const u = Array.from(document.querySelectorAll("#live-chart .uplot"));
    return { doc: l.doc, frames_per_s: l.frames_per_s, taps_per_s: l.taps_per_s,
             points: l.history.t.length, charts: u.length,
             stored_tile: document.querySelectorAll("#live .tile")[3].dataset.value,
             shown: document.querySelectorAll("#live .tile").length };
  });
  out.cameras = await page.evaluate(() => ({ data: window.KP_DASH.cameras,
                                             charts: document.querySelectorAll("#cameras .uplot").length,
                                             series: document.querySelectorAll("#cameras .u-legend .u-series").length }));
  out.devices_filter = await deviceFilters(page);
  out.total = await page.$eval("#total", (el) => el.dataset.value);
  out.routes = await cells(page, "#routes");
  out.fares = await cells(page, "#fares");
  out.rates = await cells(page, "#rates");
  out.devices = await cells(page, "#devices");
  out.camlist = await cells(page, "#camlist");
  out.nvr_online = await page.$eval("#nvr-state", (el) => el.dataset.online);
  out.token_kept = await page.evaluate(() => sessionStorage.getItem("kp.token") !== null);
  await page.screenshot({ path: shots + "/dashboard-operator.png", fullPage: true });
  // A tablet held upright: nothing wider than the screen but inside its own scrolling panel.
  await page.setViewportSize({ width: 768, height: 1024 });
  out.tablet_overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: shots + "/dashboard-operator-tablet.png", fullPage: true });
  await page.setViewportSize({ width: 1200, height: 900 });
  // A range of three days back to the same end: the page asks the server for it.
  const from = new Date(Date.parse(out.dash.from + "T12:00:00Z") - 3 * 86400000).toISOString().slice(0, 10);
  await page.fill("#from", from);
  await page.click("#range button[type=submit]");
  await page.waitForFunction((f) => document.body.dataset.loaded === "1" && window.KP_DASH.from === f, from,
                             { timeout: patience });
  out.range = await page.evaluate(() => ({ from: window.KP_DASH.from, to: window.KP_DASH.to,
                                           total: document.getElementById("total").dataset.value }));
  // A range without taps: the empty state, not an error nor an empty chart.
  await page.fill("#from", "2020-01-02");
  await page.fill("#to", "2020-01-03");
  await page.click("#range button[type=submit]");
  await page.waitForSelector("body[data-loaded='1'] #hourly[data-state='empty']", { timeout: patience });
  out.empty_day = await page.$eval("#hourly", (el) => ({ state: el.dataset.state, text: el.textContent,
                                                        charts: el.querySelectorAll(".uplot").length }));
  // The language switch: English strings, and numbers formatted for it.
  await page.selectOption("#lang", "en");
  out.title_en = await page.textContent("h1");
  await page.selectOption("#lang", "uk");
  out.title_uk = await page.textContent("h1");
  return out;
}

async function publicPage(page) {
  const out = {};
  await page.goto(base + "/ui/public.html");
  await page.waitForSelector("body[data-loaded='1']", { timeout: patience });
  out.open = await page.evaluate(() => window.KP_OPEN);
  out.byroute = await cells(page, "#byroute");
  out.pubkey = await page.textContent("#pubkey");
  out.packages = await page.$$eval("ul.packages li", (lis) => lis.map((li) => ({
    date: li.dataset.date, href: li.querySelector("a").getAttribute("href"),
    commands: li.querySelector("pre").textContent })));
  await page.screenshot({ path: shots + "/dashboard-public.png", fullPage: true });
  return out;
}

let browser;
try {
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox"] });
} catch (e) {
  console.error("dashboard.mjs: cannot start " + browserPath + ": " + e.message.split("\n")[0]);
  process.exit(1);
}
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const result = { operator: await operator(page), public: await publicPage(page), errors };
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (e) {
  console.error("dashboard.mjs: " + e.message.split("\n")[0]);
  process.exitCode = 1;
} finally {
  await browser.close();
}
