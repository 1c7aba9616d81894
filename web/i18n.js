// i18n.js — every string of the dashboards, in Ukrainian and English, and
// the formatting of numbers and dates for the chosen language (Intl).
// The choice is kept in localStorage ("kp.lang"); Ukrainian by default.
"use strict";

const KP_STRINGS = {
  uk: {
    "lang.name": "Українська",
    "op.title": "Пасажиропотік — оператор",
    "pub.title": "Пасажиропотік — відкриті дані",
    "token.label": "Токен оператора",
    "token.submit": "Увійти",
    "token.logout": "Вийти",
    "token.hint": "Токен зберігається лише в цій вкладці браузера (sessionStorage).",
    "auth.401": "Токен невірний або відкликаний. Введіть дійсний токен.",
    "auth.403": "Цей токен не має права читати дані (потрібна область read).",
    "error.http": "Сервер відповів помилкою",
    "error.network": "Сервер недоступний",
    "date.from": "З",
    "date.to": "по",
    "date.show": "Показати",
    "hourly.title": "Валідації по годинах доби (за всі дати разом)",
    "routes.title": "Маршрути за кількістю валідацій",
    "fares.title": "За тарифами",
    "stops.title": "Зупинки за кількістю валідацій",
    "rates.title": "Частка оплат (валідації ÷ посадки), найнижча першою",
    "col.stop": "Зупинка",
    "col.reason": "Причина",
    "live.title": "Зараз (оновлюється кожні 3 с)",
    "live.frames": "Кадри за секунду",
    "live.taps": "Валідації за секунду",
    "live.commit": "Запис на диск, мс",
    "live.stored": "Валідацій збережено",
    "live.ready": "Готовність",
    "live.storage": "Сховище",
    "live.yes": "готовий",
    "live.ok": "гаразд",
    "live.alarm": "ТРИВОГА: запис не вдався",
    "live.time": "Час",
    "live.not_subscribed": "немає підписки на брокер MQTT",
    "live.not_storing": "останній запис не вдався",
    "col.source": "Джерело",
    "col.boardings": "Посадки",
    "col.rate": "Частка",
    "empty.rates": "Немає даних лічильників чи камер за цю дату.",
    "devices.title": "Пристрої",
    "col.hour": "Година",
    "col.route": "Маршрут",
    "col.fare": "Тариф",
    "col.route_name": "Назва",
    "col.accepted": "Прийнято",
    "col.denied": "Відмовлено",
    "col.amount": "Сума, грн",
    "col.id": "Пристрій",
    "col.kind": "Тип",
    "col.state": "Стан",
    "col.vehicle": "ТЗ",
    "col.last_seen": "Останній кадр",
    "col.frames": "Кадри",
    "col.gaps": "Пропуски",
    "col.skew": "Зсув годинника, с",
    "col.rejects": "Відхилено",
    "col.flags": "Проблеми",
    "col.date": "Дата",
    "col.riders": "Пасажири (оцінка)",
    "col.package": "Пакет",
    "flag.silent": "мовчить",
    "flag.gaps": "пропуски",
    "flag.skew": "годинник",
    "flag.rejects": "відхилення",
    "col.operator": "Перевізник",
    "filter.all": "усі",
    "filter.any": "будь-яка проблема",
    "filter.validator": "валідатори",
    "filter.apc": "лічильники пасажирів",
    "empty.filter": "Жоден пристрій не відповідає фільтру.",
    "cams.title": "Пораховані входи й валідації за годинами",
    "cams.boardings.nvr": "Входи (камери)",
    "cams.accepted.nvr": "Валідації (ті ж автобуси)",
    "cams.boardings.signed": "Входи (лічильники)",
    "cams.accepted.signed": "Валідації (автобуси з лічильниками)",
    "total": "Разом",
    "empty.day": "За ці дати даних немає.",
    "empty.devices": "Жодного пристрою не зареєстровано.",
    "empty.open": "Ще нічого не опубліковано.",
    "trend.title": "Динаміка за опублікованими датами",
    "byroute.title": "За маршрутами і днями",
    "suppressed": "—",
    "suppressed.note": "«—»: значення приховано (менше порогу k) для захисту приватності.",
    "verify.title": "Як перевірити пакет",
    "verify.key": "Публічний ключ сервера",
    "loading": "Завантаження…",
  },
  en: {
    "lang.name": "English",
    "op.title": "Ridership — operator",
    "pub.title": "Ridership — open data",
    "token.label": "Operator token",
    "token.submit": "Sign in",
    "token.logout": "Sign out",
    "token.hint": "The token is kept in this browser tab only (sessionStorage).",
    "auth.401": "The token is wrong or revoked. Enter a valid token.",
    "auth.403": "This token may not read ridership (it needs the read scope).",
    "error.http": "The server answered with an error",
    "error.network": "The server cannot be reached",
    "date.from": "From",
    "date.to": "to",
    "date.show": "Show",
    "hourly.title": "Boardings per hour of the day (the dates summed)",
    "routes.title": "Top routes",
    "fares.title": "By fare product",
    "stops.title": "Top stops",
    "rates.title": "Validation rate (taps ÷ boardings), lowest first",
    "col.stop": "Stop",
    "col.reason": "Reason",
    "live.title": "Now (refreshed every 3 s)",
    "live.frames": "Frames per second",
    "live.taps": "Taps per second",
    "live.commit": "Commit latency, ms",
    "live.stored": "Taps stored",
    "live.ready": "Ready",
    "live.storage": "Storage",
    "live.yes": "ready",
    "live.ok": "fine",
    "live.alarm": "ALARM: a commit failed",
    "live.time": "Time",
    "live.not_subscribed": "not subscribed to the MQTT broker",
    "live.not_storing": "the last commit failed",
    "col.source": "Source",
    "col.boardings": "Boardings",
    "col.rate": "Rate",
    "empty.rates": "No counter or camera data for this date.",
    "devices.title": "Devices",
    "col.hour": "Hour",
    "col.route": "Route",
    "col.fare": "Fare",
    "col.route_name": "Name",
    "col.accepted": "Accepted",
    "col.denied": "Denied",
    "col.amount": "Amount, UAH",
    "col.id": "Device",
    "col.kind": "Kind",
    "col.state": "State",
    "col.vehicle": "Vehicle",
    "col.last_seen": "Last frame",
    "col.frames": "Frames",
    "col.gaps": "Gaps",
    "col.skew": "Clock skew, s",
    "col.rejects": "Rejected",
    "col.flags": "Problems",
    "col.date": "Date",
    "col.riders": "Riders (estimate)",
    "col.package": "Package",
    "flag.silent": "silent",
    "flag.gaps": "gaps",
    "flag.skew": "clock",
    "flag.rejects": "rejects",
    "col.operator": "Operator",
    "filter.all": "all",
    "filter.any": "any problem",
    "filter.validator": "validators",
    "filter.apc": "passenger counters",
    "empty.filter": "No device matches the filter.",
    "cams.title": "Counted boardings and taps per hour",
    "cams.boardings.nvr": "Boardings (cameras)",
    "cams.accepted.nvr": "Taps (same buses)",
    "cams.boardings.signed": "Boardings (counters)",
    "cams.accepted.signed": "Taps (buses with counters)",
    "total": "Total",
    "empty.day": "No data for these dates.",
    "empty.devices": "No device is enrolled.",
    "empty.open": "Nothing is published yet.",
    "trend.title": "Trend over the published dates",
    "byroute.title": "By route and day",
    "suppressed": "—",
    "suppressed.note": "“—”: the value is suppressed (below the threshold k) to protect privacy.",
    "verify.title": "How to verify a package",
    "verify.key": "The server's public key",
    "loading": "Loading…",
  },
};

const KP_LANGS = ["uk", "en"];

function kpLang() {
  const saved = localStorage.getItem("kp.lang");
  return KP_LANGS.includes(saved) ? saved : "uk";
}

function kpSetLang(lang) {
  localStorage.setItem("kp.lang", lang);
}

function kpT(key) {
  const s = KP_STRINGS[kpLang()][key];
  return s === undefined ? key : s;
}

function kpLocale() {
  return kpLang() === "uk" ? "uk-UA" : "en-GB";
}

function kpNum(n) {
  return new Intl.NumberFormat(kpLocale()).format(n);
}

function kpMoney(kopiykas) {
  return new Intl.NumberFormat(kpLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    .format(kopiykas / 100);
}

// A service date "YYYY-MM-DD" for reading (no time zone shift: noon UTC).
function kpDate(iso) {
  return new Intl.DateTimeFormat(kpLocale(), { dateStyle: "medium", timeZone: "UTC" })
    .format(new Date(iso + "T12:00:00Z"));
}

function kpDateTime(ms) {
  return new Intl.DateTimeFormat(kpLocale(), { dateStyle: "short", timeStyle: "medium" }).format(new Date(ms));
}
