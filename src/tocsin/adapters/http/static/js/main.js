// The dashboard: alert groups from GET /alerts/active, kept current by the event stream.
//
// An event names the group it changed; that group is marked dirty and fetched again (many at
// once: the whole active list instead, which speaks for every group it does not list too; see
// loadActive). Rows are built and updated at most once per animation frame, within a time
// budget, so no frame stalls however many groups arrive at once.
//
// What keeps 1,000 rows cheap:
// - a new row is merged into its sorted place (`order`), so the rows already there are never
//   moved; only a row whose sort key changed is taken out and merged in again;
// - a whole list (first load, a storm) is queued in display order, so the first frame fills
//   the screen and the later ones add rows below it, off screen;
// - rows are CSS grids, not table rows (see dashboard.css), with `content-visibility: auto`:
//   the browser styles and lays out only the rows on screen;
// - rows are cloned from a template, and one listener on the table serves every button.

import { api, setToken, token } from "./api.js";
import { Stream } from "./stream.js";

const SEVERITY_RANK = { critical: 0, high: 1, error: 1, warning: 2, info: 3 };
const FRAME_BUDGET_MS = 10; // DOM work per animation frame; the rest waits for the next one
const BULK_REFRESH = 40; // more dirty groups than this: fetch the whole active list
const CONCURRENT_FETCHES = 6;

const $ = (sel) => document.querySelector(sel);
const tbody = $("#groups tbody");
const groups = new Map(); // id -> group view
const rows = new Map(); // id -> <tr>
const order = []; // ids of the rows in tbody, in display order (see compare)
const unplaced = new Set(); // ids of rows not (or no longer) in `order`: merged in next frame
const changed = new Set(); // ids whose row must be (re)built
const dirty = new Set(); // ids to fetch again
const fetching = new Set(); // ids being fetched: one fetch per group at a time, see pump
const listening = new Set(); // per whole list on its way: ids with events since it was asked for
let filtersDirty = true;
let frame = 0;
let bulkPending = false;
let selected = null;

// ---------------------------------------------------------------------------------- model
// The group's `severity` label if it is grouped by it, else the most severe of its firing
// alerts' (once none fires, of the last to resolve): a critical alert joining a warning group
// makes the group critical, and its resolving makes it warning again. (The API lists alerts
// by fingerprint, so the first alert's severity is no better than any other's.)
function severityOf(g) {
  if (g.labels.severity) return g.labels.severity.toLowerCase();
  const alerts = g.alerts || [];
  let pool = alerts.filter((a) => a.firing);
  if (!pool.length) {
    const last = alerts.reduce((t, a) => (a.resolved_at > t ? a.resolved_at : t), "");
    pool = alerts.filter((a) => a.resolved_at === last);
  }
  let best = "";
  let bestRank = Infinity;
  for (const a of pool) {
    const sev = (a.labels.severity || "").toLowerCase();
    const rank = SEVERITY_RANK[sev] ?? (sev ? 8 : 9); // an unknown severity still beats none
    if (rank < bestRank) [best, bestRank] = [sev, rank];
  }
  return best;
}

function labelOf(g, ...names) {
  for (const n of names) {
    if (g.labels[n]) return g.labels[n];
    for (const a of g.alerts || []) if (a.labels[n]) return a.labels[n];
  }
  return "";
}

// What a row shows depends on these: a refresh that changes none of them costs no DOM work.
function signature(g) {
  const firing = g.alerts.filter((x) => x.firing).length;
  return [g.phase, g.level, g.ack?.by, g.alerts.length, firing, g.receivers.join(), g.opened_at].join("|");
}

function rankOf(g) {
  return SEVERITY_RANK[severityOf(g)] ?? 9;
}

function put(view) {
  const old = groups.get(view.id);
  view.sig = signature(view);
  view.rank = rankOf(view);
  groups.set(view.id, view);
  if (old && rows.has(view.id) && !unplaced.has(view.id)) {
    if (old.rank !== view.rank || old.opened_at !== view.opened_at) {
      // Its place changed: out of `order` now, so merges never meet an out-of-order key.
      const at = order.indexOf(view.id);
      if (at >= 0) order.splice(at, 1);
      unplaced.add(view.id);
    }
  }
  if (old && old.sig === view.sig && rows.has(view.id)) {
    if (unplaced.has(view.id)) schedule();
    return;
  }
  changed.add(view.id);
  schedule();
}

function drop(id) {
  groups.delete(id);
  changed.delete(id);
  const row = rows.get(id);
  if (row) row.remove();
  rows.delete(id);
  if (!unplaced.delete(id)) {
    const at = order.indexOf(id);
    if (at >= 0) order.splice(at, 1);
  }
  schedule();
}

// The whole active list. It lists live groups only, and it is the answer for every group it
// does not list as well: such a row goes, `resolved` ones included. (A `resolved` row whose
// group has since ended would otherwise stay for good: the event that ended the group may be
// one of the many this list stands in for, and no later event will come.) The exceptions are
// groups the list may be older than: those with an event after it was asked for, or with a
// fetch of their own on its way then. Their own fetch decides; the list neither updates nor
// drops their rows.
async function loadActive() {
  const later = new Set();
  const crossing = new Set(fetching); // answers that may land before or after the list
  listening.add(later);
  let data;
  try {
    data = await api.active();
  } finally {
    listening.delete(later);
  }
  const newer = (id) => later.has(id) || crossing.has(id) || dirty.has(id);
  const listed = new Set();
  const fresh = [];
  for (const g of data.groups) {
    listed.add(g.id);
    if (!newer(g.id)) fresh.push(g);
  }
  for (const g of fresh) g.rank = rankOf(g);
  fresh.sort(byDisplayOrder); // `changed` keeps this order: rows are built top first
  for (const g of fresh) put(g);
  for (const id of [...groups.keys()]) if (!listed.has(id) && !newer(id)) drop(id);
  // A fetch that crossed the list may have answered older news than the list's: ask again.
  for (const id of crossing) dirty.add(id);
  if (dirty.size) pump();
}

function markDirty(id) {
  dirty.add(id);
  for (const ids of listening) ids.add(id);
  pump();
}

async function pump() {
  if (dirty.size > BULK_REFRESH) {
    if (bulkPending) return;
    bulkPending = true;
    dirty.clear();
    try {
      await loadActive();
    } catch (e) {
      toast(`refresh failed: ${e.message}`, true);
    } finally {
      bulkPending = false;
    }
    // Events that came in while the list was on its way may be newer than what it holds.
    if (dirty.size) pump();
    return;
  }
  // A group already being fetched stays dirty until that fetch is back: two fetches of one
  // group could answer out of order, and an older answer (say `resolved`) landing after a newer
  // one (404, the group ended) would bring back a row that no later event removes.
  while (fetching.size < CONCURRENT_FETCHES) {
    let id;
    for (const d of dirty) {
      if (!fetching.has(d)) {
        id = d;
        break;
      }
    }
    if (id === undefined) return;
    dirty.delete(id);
    fetching.add(id);
    api
      .group(id)
      .then(put, (e) => {
        if (e.status === 404) drop(id);
      })
      .finally(() => {
        fetching.delete(id);
        if (dirty.size) pump();
      });
  }
}

// -------------------------------------------------------------------------------- render
function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

function age(since, now = Date.now()) {
  if (Number.isNaN(since)) return "";
  const s = Math.max(0, (now - since) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

const ROW = document.createElement("template");
ROW.innerHTML =
  '<tr><td class="sev"><span></span></td><td class="name"><a data-action="timeline"></a><small></small></td>' +
  '<td class="state"></td><td class="level"></td><td class="age"></td><td class="receivers"></td>' +
  '<td class="count"></td><td class="actions"><button type="button" data-action="ack">Ack</button>' +
  '<button type="button" data-action="resolve">Resolve</button>' +
  '<button type="button" data-action="silence">Silence</button></td></tr>';

function buildRow(id) {
  const tr = ROW.content.firstElementChild.cloneNode(true);
  tr.dataset.id = id;
  rows.set(id, tr);
  return tr;
}

function fillRow(tr, g) {
  const sev = severityOf(g);
  tr.dataset.severity = sev;
  tr.dataset.phase = g.phase;
  const [, name, state, level, ageTd, receivers, count, actions] = tr.children;
  tr.children[0].title = sev || "no severity";
  const labels = Object.entries(g.labels);
  name.firstChild.textContent = g.labels.alertname || (labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(" ") : g.id);
  const shown = Object.entries({ ...(g.alerts[0]?.labels || {}), ...g.labels });
  name.lastChild.textContent = shown
    .filter(([k]) => k !== "alertname")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  state.textContent = g.phase === "acknowledged" && g.ack ? `acknowledged (${g.ack.by})` : g.phase;
  level.textContent = g.level >= 0 ? `${g.level}${g.escalation ? ` (${g.escalation})` : ""}` : "–";
  ageTd.since = g.opened_at ? Date.parse(g.opened_at) : NaN; // parsed once, for the ticker
  ageTd.textContent = age(ageTd.since);
  receivers.textContent = (g.receivers.length ? g.receivers : [g.receiver]).filter(Boolean).join(", ");
  const firing = g.alerts.filter((x) => x.firing).length;
  count.textContent = firing === g.alerts.length ? `${firing}` : `${firing}/${g.alerts.length}`;
  const live = g.phase !== "resolved";
  const [ack, resolve, silence] = actions.children;
  ack.disabled = !live || g.acknowledge === "forbidden";
  ack.textContent = g.phase === "acknowledged" ? "Unack" : "Ack";
  ack.dataset.action = g.phase === "acknowledged" ? "unack" : "ack";
  resolve.disabled = !live;
  silence.disabled = !live;
  tr.dataset.search = [
    JSON.stringify(g.labels),
    ...g.alerts.map((x) => JSON.stringify(x.labels) + JSON.stringify(x.annotations)),
    g.receivers.join(" "),
    g.receiver || "",
  ]
    .join(" ")
    .toLowerCase();
}

function readFilters() {
  const f = new FormData($("#filters"));
  return {
    severity: f.get("severity"),
    state: f.get("state"),
    service: String(f.get("service") || "").toLowerCase(),
    environment: String(f.get("environment") || "").toLowerCase(),
    text: String(f.get("text") || "").toLowerCase(),
  };
}

function visible(g, tr, f) {
  if (f.severity && severityOf(g) !== f.severity) return false;
  if (f.state && g.phase !== f.state) return false;
  if (f.service && !labelOf(g, "service", "job").toLowerCase().includes(f.service)) return false;
  if (f.environment && !labelOf(g, "environment", "env").toLowerCase().includes(f.environment)) return false;
  if (f.text && !tr.dataset.search.includes(f.text)) return false;
  return true;
}

// Most severe first, then newest (the API's ISO times compare as strings), then by name; the
// id breaks the last ties, so the order is total and a row's place never depends on arrival.
function byDisplayOrder(ga, gb) {
  if (ga.rank !== gb.rank) return ga.rank - gb.rank;
  const ta = ga.opened_at || "";
  const tb = gb.opened_at || "";
  if (ta !== tb) return ta < tb ? 1 : -1;
  const na = ga.labels.alertname || "";
  const nb = gb.labels.alertname || "";
  if (na !== nb) return na < nb ? -1 : 1;
  return ga.id < gb.id ? -1 : ga.id > gb.id ? 1 : 0;
}

function compare(a, b) {
  return byDisplayOrder(groups.get(a), groups.get(b));
}

// Put the built rows in `unplaced` into tbody at their sorted places: each run of new rows
// that goes before the same placed row goes in through one fragment.
function place() {
  if (!unplaced.size) return;
  const fresh = [...unplaced].sort(compare); // each has a row and a group (see drop)
  unplaced.clear();
  let lo = 0;
  for (let j = 0; j < fresh.length; ) {
    let hi = order.length; // binary search: the first placed row after fresh[j]
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(order[mid], fresh[j]) < 0) lo = mid + 1;
      else hi = mid;
    }
    const anchor = lo < order.length ? order[lo] : null;
    let k = j + 1;
    while (k < fresh.length && (anchor === null || compare(fresh[k], anchor) < 0)) k++;
    const frag = document.createDocumentFragment();
    for (let x = j; x < k; x++) frag.append(rows.get(fresh[x]));
    tbody.insertBefore(frag, anchor === null ? null : rows.get(anchor));
    order.splice(lo, 0, ...fresh.slice(j, k));
    lo += k - j;
    j = k;
  }
}

function render() {
  frame = 0;
  const started = performance.now();
  const f = readFilters();
  let n = 0;
  for (const id of changed) {
    // Within the frame's budget (checked every few rows); the rest next frame.
    if (++n % 16 === 0 && performance.now() - started > FRAME_BUDGET_MS) break;
    changed.delete(id);
    const g = groups.get(id);
    if (!g) continue;
    let tr = rows.get(id);
    if (!tr) {
      tr = buildRow(id);
      unplaced.add(id);
    }
    fillRow(tr, g);
    tr.hidden = !visible(g, tr, f);
  }
  place();
  if (filtersDirty) {
    filtersDirty = false;
    for (const [id, tr] of rows) tr.hidden = !visible(groups.get(id), tr, f);
  }
  updateCounts();
  if (changed.size || unplaced.size) schedule();
}

function updateCounts() {
  let shown = 0;
  const services = new Set();
  const envs = new Set();
  for (const [id, tr] of rows) {
    if (!tr.hidden) shown++;
    const g = groups.get(id);
    const s = labelOf(g, "service", "job");
    const e = labelOf(g, "environment", "env");
    if (s) services.add(s);
    if (e) envs.add(e);
  }
  $("#counts").textContent = `${shown} of ${rows.size} groups`;
  $("#empty").hidden = shown > 0;
  fillList("#services", services);
  fillList("#environments", envs);
}

function fillList(sel, values) {
  const list = $(sel);
  if (list.childElementCount === values.size) return;
  list.replaceChildren(...[...values].sort().map((v) => Object.assign(document.createElement("option"), { value: v })));
}

// ------------------------------------------------------------------------------ timeline
function summary(msg) {
  const d = msg.data || {};
  switch (msg.type) {
    case "alert.received":
      return `${d.alert?.labels?.alertname ?? ""} ${d.change ?? ""}`;
    case "alert.resolved":
      return `${d.fingerprint} ${d.reason ?? ""}`;
    case "group.acknowledged":
    case "group.unacknowledged":
      return `by ${d.by}${d.comment ? `: ${d.comment}` : ""}`;
    case "notification.requested":
    case "notification.delivered":
    case "notification.failed":
      return [d.receiver, d.integration, d.reason, d.error].filter(Boolean).join(" · ");
    case "group.escalated":
      return `level ${d.level}`;
    case "group.opened":
      return `receiver ${d.policy?.receiver ?? "?"}, episode ${d.episode}`;
    case "group.flushed":
      return `${d.outcome}${d.reason ? ` (${d.reason})` : ""}`;
    default: {
      const { group_id, at, ...rest } = d;
      const text = JSON.stringify(rest);
      return text.length > 200 ? `${text.slice(0, 200)}…` : text;
    }
  }
}

function timelineItem(msg) {
  const li = document.createElement("li");
  li.dataset.seq = msg.seq;
  const time = document.createElement("time");
  time.textContent = new Date(msg.ts).toLocaleString();
  const type = document.createElement("span");
  type.className = "type";
  type.textContent = msg.type;
  const detail = document.createElement("span");
  detail.className = "detail";
  detail.textContent = summary(msg);
  li.append(time, type, detail);
  return li;
}

async function openTimeline(id) {
  selected = id;
  for (const tr of tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
  rows.get(id)?.classList.add("selected");
  const aside = $("#timeline");
  const g = groups.get(id);
  aside.querySelector("h2").textContent = g ? g.labels.alertname || id : id;
  aside.hidden = false;
  const list = aside.querySelector("ol");
  list.replaceChildren();
  try {
    const data = await api.history(id);
    if (selected !== id) return;
    list.replaceChildren(...data.events.map(timelineItem));
  } catch (e) {
    toast(`timeline: ${e.message}`, true);
  }
}

function appendTimeline(msg) {
  const list = $("#timeline ol");
  const last = list.lastElementChild;
  if (last && Number(last.dataset.seq) >= msg.seq) return;
  list.append(timelineItem(msg));
}

// ------------------------------------------------------------------------------- actions
let toastTimer = 0;
function toast(text, error = false) {
  const t = $("#toast");
  t.textContent = text;
  t.className = error ? "error" : "";
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), error ? 8000 : 3000);
}

async function act(action, id, button) {
  const g = groups.get(id);
  button.disabled = true;
  try {
    if (action === "silence") {
      const hours = Number(prompt("Silence this group for how many hours?", "2"));
      if (!hours || hours <= 0) return;
      const comment = prompt("Why?", "") || "";
      const r = await api.silence(g.labels, hours, comment);
      toast(`silence ${r.silenceID} created for ${hours}h`);
    } else {
      await api.command(id, action);
      toast(`${action}: done`);
    }
    markDirty(id);
  } catch (e) {
    toast(`${action} failed: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

tbody.addEventListener("click", (e) => {
  const target = e.target.closest("[data-action]");
  if (!target) return;
  const id = target.closest("tr").dataset.id;
  if (target.dataset.action === "timeline") openTimeline(id);
  else act(target.dataset.action, id, target);
});
$("#timeline [data-close]").addEventListener("click", () => {
  selected = null;
  $("#timeline").hidden = true;
  for (const tr of tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
});
$("#filters").addEventListener("input", () => {
  filtersDirty = true;
  schedule();
});

// -------------------------------------------------------------------------------- stream
function setConn(state, detail) {
  const el = $("#conn");
  el.dataset.state = state;
  el.textContent = state === "live" ? "live" : state;
  el.title = detail || "the event stream";
}

const stream = new Stream({
  onState: setConn,
  onOpen: async (resumed) => {
    // First connection: the stream starts at the head, the list is loaded once it listens, so
    // nothing falls between the two. A resumed one replays what it missed from `since`.
    if (resumed) return;
    try {
      await loadActive();
    } catch (e) {
      toast(`loading groups: ${e.message}`, true);
    }
  },
  onEvent: (msg) => {
    const id = msg.data && msg.data.group_id;
    if (!id) return;
    markDirty(id);
    if (id === selected) appendTimeline(msg);
  },
});

$("#token-button").addEventListener("click", () => {
  const value = prompt("API token (kept in this browser's localStorage; empty to forget it)", token());
  if (value === null) return;
  setToken(value.trim());
  stream.restart();
});

setInterval(() => {
  const now = Date.now();
  for (const tr of rows.values()) {
    if (tr.hidden) continue;
    const td = tr.children[4];
    const text = age(td.since, now);
    if (td.textContent !== text) td.textContent = text;
  }
}, 1000);

// Heartbeats (dead man's switches): a badge each, red while one is missing. They change
// rarely and are not events on the stream, so they are polled.
async function loadHeartbeats() {
  const box = $("#heartbeats");
  let data;
  try {
    data = await api.heartbeats();
  } catch {
    return; // no token yet, or the daemon restarting: the stream's state says so already
  }
  box.replaceChildren(
    ...data.heartbeats.map((h) => {
      const span = document.createElement("span");
      span.className = "heartbeat";
      span.dataset.name = h.name;
      span.dataset.missing = String(h.missing);
      span.textContent = `${h.missing ? "✗" : "♥"} ${h.name}`;
      span.title = `expected every ${h.interval_seconds}s; last beat ${h.last_seen}`;
      return span;
    }),
  );
}
loadHeartbeats();
setInterval(loadHeartbeats, 5000);

stream.connect();
