// callbot agent console: a snapshot then live events over /agent/ws; no library.
// Waiting times tick in the browser from created_at, on the server's clock ("now" in
// every message), until the status leaves "queued". Callbacks owed are listed apart: an
// agent (named once, remembered by the browser) claims one, calls, then closes it with
// how it went; the server says who holds which, and pushes every change to every console.

const $ = (id) => document.getElementById(id);
const STATUS = {
  queued: "En attente",
  answered: "Pris en charge",
  abandoned: "Abandonné",
  no_answer: "Sans réponse",
  callback_requested: "Rappel demandé",
  message_left: "Message laissé",
  transfer_failed: "Transfert échoué",
};
const CALLBACK_STATUS = { open: "À rappeler", claimed: "Pris", closed: "Clôturé", expired: "Expiré" };
const RESULTS = [["reached", "Joint"], ["no_answer", "Pas de réponse"], ["wrong_number", "Faux numéro"]];
const AGENT_KEY = "callbot-agent";
const LONG_WAIT_S = 180;
const params = new URLSearchParams(location.search);
const token = params.get("token");
const single = location.pathname.match(/^\/agent\/context\/([^/]+)$/);

const handovers = new Map();
const callbacks = new Map();
let selected = single ? decodeURIComponent(single[1]) : null;
let clockOffsetS = 0;
let retryMs = 1000;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function serverNow() { return Date.now() / 1000 + clockOffsetS; }
function syncClock(now) { if (typeof now === "number") clockOffsetS = now - Date.now() / 1000; }

function waitedS(h) {
  const end = h.status === "queued" || h.status_at === null ? serverNow() : h.status_at;
  return Math.max(0, end - h.created_at);
}

function clock(seconds) {
  const s = Math.floor(seconds);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

function duration(seconds) {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

function label(name) {
  const text = name.replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function phone(number) {
  if (!number) return "Numéro masqué";
  const m = number.match(/^\+33(\d)(\d{8})$/);
  const national = m ? `0${m[1]}${m[2]}` : number;
  return /^\d{10}$/.test(national) ? national.replace(/(\d{2})(?=\d)/g, "$1 ") : number;
}

function setWait(node, h) {
  const seconds = waitedS(h);
  node.textContent = clock(seconds);
  node.dataset.seconds = String(Math.floor(seconds));
  node.classList.toggle("long", h.status === "queued" && seconds >= LONG_WAIT_S);
}

function badge(node, status) {
  node.className = "badge";
  node.dataset.status = status;
  node.textContent = STATUS[status] || label(status);
}

function renderList(freshId) {
  const list = $("handovers");
  const sorted = [...handovers.values()].sort((a, b) => b.created_at - a.created_at);
  list.replaceChildren(...sorted.map((h) => item(h, h.context_id === freshId)));
  $("empty").hidden = sorted.length > 0;
  const waiting = sorted.filter((h) => h.status === "queued").length;
  $("count").textContent = sorted.length ? `— ${sorted.length}, dont ${waiting} en attente` : "";
}

function item(h, fresh) {
  const li = el("li", { class: "item", "data-id": h.context_id, "data-status": h.status, tabindex: "0" });
  li.classList.toggle("selected", h.context_id === selected);
  li.classList.toggle("fresh", fresh);
  const top = el("div", { class: "row" });
  const status = el("span");
  badge(status, h.status);
  const wait = el("span", { class: "wait" });
  setWait(wait, h);
  top.append(status, wait);
  const who = el("div", { class: "row" });
  who.append(el("span", { class: "who" }, phone(h.caller_number)), el("span", { class: "queue" }, h.queue));
  li.append(top, who, el("p", { class: "summary" }, h.summary));
  const choose = () => { selected = h.context_id; renderList(); renderDetail(); };
  li.addEventListener("click", choose);
  li.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(); });
  return li;
}

function renderDetail() {
  const h = handovers.get(selected);
  $("detail").hidden = !h;
  if (!h) return;
  $("detail").dataset.id = h.context_id;
  badge($("d-status"), h.status);
  setWait($("d-wait"), h);
  $("d-number").textContent = phone(h.caller_number);
  const where = [h.queue, h.skill, h.language].filter(Boolean).join(" · ");
  $("d-queue").textContent = `File ${where}`;
  $("d-summary").textContent = h.summary;
  $("d-reason").textContent = h.reason;
  const identity = $("d-identity");
  identity.textContent = h.identity_checked ? "Vérifiée par le robot" : "Non vérifiée";
  identity.className = h.identity_checked ? "ok" : "no";
  $("d-bot-time").textContent = duration(h.bot_time_s);
  $("d-created").textContent = new Date(h.created_at * 1000).toLocaleTimeString("fr-FR");
  const note = $("d-status-detail");
  note.hidden = !h.detail;
  note.textContent = h.detail ? `${STATUS[h.status] || h.status} : ${h.detail}` : "";
  $("d-intents").replaceChildren(...h.intents.map((i) => el("li", {}, label(i))));
  $("d-slots").replaceChildren(...h.slots.map(([name, value]) => {
    const tr = el("tr");
    tr.append(el("th", { scope: "row" }, label(name)), el("td", {}, value));
    return tr;
  }));
  if (!h.slots.length) $("d-slots").append(el("tr", {}, "—"));
  $("d-turns").replaceChildren(...h.turns.map((t) => {
    const li = el("li", { class: t.speaker });
    li.append(el("span", { class: "who" }, t.speaker === "bot" ? "Robot" : "Appelant"));
    li.append(document.createTextNode(t.text));
    if (t.intent) li.append(el("span", { class: "intent" }, `(${label(t.intent)})`));
    return li;
  }));
}

function agentName() { return $("agent-name").value.trim().replace(/\s+/g, " "); }

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function keepCallback(c) {
  if (c.status === "open" || c.status === "claimed") callbacks.set(c.callback_id, c);
  else callbacks.delete(c.callback_id);
}

function button(text, onClick, primary = false) {
  const node = el("button", { type: "button", class: primary ? "primary" : "" }, text);
  node.addEventListener("click", onClick);
  return node;
}

function callbackItem(c) {
  const mine = c.status === "claimed" && c.claimed_by === agentName();
  const li = el("li", { class: "cb", "data-id": c.callback_id, "data-status": c.status, "data-mine": String(mine) });
  const top = el("div", { class: "row" });
  const status = el("span");
  badge(status, c.status);
  status.textContent = CALLBACK_STATUS[c.status] || c.status;
  top.append(el("span", { class: "who" }, phone(c.number)), status);
  const asked = new Date(c.created_at * 1000).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" });
  const meta = el("div", { class: "row meta" });
  meta.append(el("span", {}, [c.queue, c.language].filter(Boolean).join(" · ")), el("span", {}, `demandé le ${asked}`));
  li.append(top, meta);
  if (c.preferred_time) li.append(el("p", { class: "pref" }, `Préférence : ${c.preferred_time}`));
  li.append(el("p", { class: "summary" }, c.summary));
  const actions = el("div", { class: "actions" });
  if (c.status === "open") {
    actions.append(button("Je rappelle", () => act(c, "claim"), true));
  } else if (mine) {
    for (const [result, text] of RESULTS) {
      const close = button(text, () => act(c, "close", { result }), result === "reached");
      close.dataset.result = result;
      actions.append(close);
    }
    actions.append(button("Libérer", () => act(c, "release")));
  } else {
    actions.append(el("span", { class: "holder" }, `Pris par ${c.claimed_by}`));
  }
  li.append(actions);
  return li;
}

function renderCallbacks() {
  const sorted = [...callbacks.values()].sort((a, b) => a.created_at - b.created_at);
  $("callbacks").replaceChildren(...sorted.map(callbackItem));
  $("callbacks-empty").hidden = sorted.length > 0;
  $("callbacks-count").textContent = sorted.length ? `— ${sorted.length}` : "";
}

async function act(c, action, extra = {}) {
  const agent = agentName();
  if (!agent) {
    showError("Indiquez votre nom pour prendre un rappel.");
    $("agent-name").focus();
    return;
  }
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const url = `/agent/callbacks/${encodeURIComponent(c.callback_id)}/${action}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ agent, ...extra }) });
  const body = await response.json().catch(() => ({}));
  if (body.callback) keepCallback(body.callback);
  showError(response.ok ? "" : `Rappel : ${body.error || `erreur ${response.status}`}`);
  renderCallbacks();
}

function tick() {
  for (const node of document.querySelectorAll("#handovers .item")) {
    const h = handovers.get(node.dataset.id);
    if (h) setWait(node.querySelector(".wait"), h);
  }
  const h = handovers.get(selected);
  if (h) setWait($("d-wait"), h);
}

function accept(h) {
  if (single && h.context_id !== selected) return false;
  handovers.set(h.context_id, h);
  if (selected === null) selected = h.context_id;
  return true;
}

function onMessage(message) {
  const data = JSON.parse(message.data);
  syncClock(data.now);
  if (data.type === "snapshot") {
    if (!single) handovers.clear();
    for (const h of data.handovers) accept(h);
    callbacks.clear();
    for (const c of data.callbacks || []) keepCallback(c);
    $("console").dataset.state = "live";
    renderList();
    renderCallbacks();
  } else if (data.type === "callback") {
    keepCallback(data.callback);
    renderCallbacks();
    return;
  } else if (data.type === "handover" || data.type === "status") {
    if (!accept({ ...data.context, detail: data.detail })) return;
    renderList(data.type === "handover" ? data.context.context_id : undefined);
  }
  renderDetail();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  const ws = new WebSocket(`${scheme}://${location.host}/agent/ws${query}`);
  const link = $("link");
  ws.addEventListener("open", () => {
    retryMs = 1000;
    link.dataset.live = "true";
    link.textContent = "En direct";
  });
  ws.addEventListener("message", onMessage);
  ws.addEventListener("close", () => {
    link.dataset.live = "false";
    link.textContent = "Reconnexion…";
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

async function loadOne() {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/agent/context/${encodeURIComponent(selected)}`, { headers });
  if (!response.ok) {
    $("error").textContent = response.status === 404 ? "Transfert inconnu." : `Erreur ${response.status}`;
    $("error").hidden = false;
    return;
  }
  const body = await response.json();
  syncClock(body.now);
  accept(body.handover);
  renderDetail();
}

if (single) {
  $("console").classList.add("single");
  loadOne();
}
$("agent-name").value = localStorage.getItem(AGENT_KEY) || "";
// On "input", not "change": a change fires on blur, as the agent clicks a button, and a
// redraw then would swallow that click.
$("agent-name").addEventListener("input", () => {
  localStorage.setItem(AGENT_KEY, agentName());
  renderCallbacks();
});
connect();
setInterval(tick, 1000);
