// callbot dashboard: fetches /api/kpi and /api/clusters, draws the charts as plain SVG;
// polls /api/cluster and /api/calls for the live view (every node's calls in progress).
// No library: bars and axes are a few rectangles and lines, which is all these charts need.

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

const OUTCOMES = {
  answered: ["Résolu par le robot", "ok"],
  no_input: ["Raccroché après silences", "warn"],
  callback_requested: ["Rappel demandé (hors horaires)", ""],
  out_of_hours: ["Hors horaires, sans rappel", "warn"],
  unresolved: ["Non résolu (information manquante)", "warn"],
  transferred: ["Transféré", ""],
  transfer_failed: ["Transfert échoué", "danger"],
  hung_up_by_caller: ["Raccroché par l'appelant", "warn"],
  transferred_on_shutdown: ["Transféré à l'arrêt de callbot", "warn"],
  ended_on_shutdown: ["Terminé à l'arrêt de callbot", "danger"],
  interrupted: ["Interrompu (callbot redémarré)", "danger"],
  protocol_error: ["Erreur de protocole sur la ligne", "danger"],
  media_timeout: ["Ligne muette (plus de média)", "danger"],
  capacity: ["Refusé (capacité atteinte)", "warn"],
  transfer_unavailable: ["Transfert impossible (pas de contrôle d'appel)", "danger"],
  sent_to_fallback: ["Envoyé aux conseillers sans robot", "warn"],
  abandoned: ["Abandonné", "warn"],
  failed: ["Échec", "danger"],
};

function pct(x) { return x === null || x === undefined ? "–" : `${nf.format(x * 100)} %`; }
function ms(x) { return x === null || x === undefined ? "–" : `${Math.round(x)} ms`; }

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function htmlEl(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function mount(id, svg, legend) {
  const box = $(id);
  box.replaceChildren(svg);
  if (legend) box.append(legend);
  box.dataset.bars = svg.querySelectorAll("rect.bar").length;
}

function empty(id, message = "Aucune donnée sur la période") {
  $(id).replaceChildren(htmlEl("p", { class: "empty" }, message));
  $(id).dataset.bars = 0;
}

function legend(items) {
  const box = htmlEl("div", { class: "legend" });
  for (const [name, color] of items) {
    const item = htmlEl("span");
    item.append(htmlEl("i", { style: `background: var(${color})` }), name);
    box.append(item);
  }
  return box;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

// Horizontal bars: one row per [label, value, cssClass]; value text at the bar's end.
function hbars(id, rows, format = (v) => nf.format(v)) {
  if (!rows.length) return empty(id);
  const width = 560, rowH = 24, labelW = 190, valueW = 60;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, role: "img" });
  const max = Math.max(...rows.map((r) => r[1]), 1);
  rows.forEach(([label, value, cls], i) => {
    const y = i * rowH + 2;
    const w = Math.max(2, ((width - labelW - valueW) * value) / max);
    const name = label.length > 28 ? `${label.slice(0, 27)}…` : label;
    svg.append(svgEl("text", { x: labelW - 8, y: y + 15, "text-anchor": "end" }, name));
    const bar = svgEl("rect", { class: `bar ${cls || ""}`, x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 3 });
    bar.append(svgEl("title", {}, `${label}: ${format(value)}`));
    svg.append(bar);
    svg.append(svgEl("text", { x: labelW + w + 6, y: y + 15, class: "muted" }, format(value)));
  });
  mount(id, svg);
}

// Vertical bars: categories on x, one or more series side by side (or overlaid).
function columns(id, categories, series, { overlay = false, width = 1100, height = 200, format = (v) => nf.format(v), every = 1 } = {}) {
  const values = series.flatMap((s) => s.values);
  if (!categories.length || values.every((v) => !v)) return empty(id);
  const left = 44, bottom = 24, top = 10;
  const plotW = width - left - 8, plotH = height - top - bottom;
  const max = niceMax(Math.max(...values));
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const axis = svgEl("g", { class: "axis" });
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    axis.append(svgEl("line", { class: "grid-line", x1: left, x2: width - 8, y1: y, y2: y }));
    axis.append(svgEl("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, format((max * k) / 4)));
  }
  svg.append(axis);
  const slot = plotW / categories.length;
  const groupW = slot * 0.72;
  const barW = overlay ? groupW : groupW / series.length;
  categories.forEach((cat, i) => {
    const x0 = left + i * slot + (slot - groupW) / 2;
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      if (!v) return;
      const h = (plotH * v) / max;
      const inset = overlay ? j * groupW * 0.18 : 0;
      const x = overlay ? x0 + inset : x0 + j * barW;
      const bar = svgEl("rect", { class: `bar ${s.cls || ""}`, x, y: top + plotH - h, width: Math.max(1, barW - 2 * inset - (overlay ? 0 : 2)), height: h, rx: 2 });
      bar.append(svgEl("title", {}, `${cat} — ${s.name}: ${format(v)}`));
      svg.append(bar);
    });
    if (i % every === 0) {
      svg.append(svgEl("text", { x: x0 + groupW / 2, y: height - 6, "text-anchor": "middle", class: "muted" }, cat));
    }
  });
  mount(id, svg, legend(series.map((s) => [s.name, s.color])));
}

function tile(id, value, note = "") {
  $(id).querySelector(".value").textContent = value;
  $(id).querySelector(".note").textContent = note;
}

function renderKpis(k) {
  const s = k.satisfaction;
  tile("tile-offered", nf.format(k.offered), `${nf.format(k.answered)} décrochés`);
  tile("tile-answer", pct(k.answer_rate), "décrochés / offerts");
  tile("tile-understanding", pct(k.understanding_rate), `${k.turns_understood} / ${k.turns_interpreted} tours`);
  tile("tile-containment", pct(k.containment_rate), `${k.contained} appels`);
  tile("tile-transfer", pct(k.transfer_rate), `${k.transferred} appels`);
  tile("tile-abandon", pct(k.abandonment_rate), `${k.abandoned} appels`);
  const cb = k.callbacks;
  tile("tile-callbacks", nf.format(cb.requested), `${cb.reached} joints, ${cb.expired} expirés, ${cb.pending} à rappeler`);
  tile("tile-satisfaction", s.mean === null ? "–" : `${nf.format(s.mean)} / 5`, `CSAT ${pct(s.csat)} · ${s.responses} avis`);
  tile("tile-latency", `${ms(k.latency.p50_ms)}`, `p95 ${ms(k.latency.p95_ms)}`);

  const hours = k.by_hour;
  columns("chart-hours", hours.map((h) => `${String(h.hour).padStart(2, "0")}h`), [
    { name: "Offerts", cls: "soft", color: "--accent-soft", values: hours.map((h) => h.offered) },
    { name: "Décrochés par le robot", cls: "", color: "--accent", values: hours.map((h) => h.answered) },
  ], { overlay: true });
  const days = k.by_day;
  columns("chart-days", days.map((d) => d.day.slice(5).split("-").reverse().join("/")), [
    { name: "Offerts", cls: "soft", color: "--accent-soft", values: days.map((d) => d.offered) },
    { name: "Décrochés", cls: "", color: "--accent", values: days.map((d) => d.answered) },
    { name: "Résolus sans humain", cls: "ok", color: "--ok", values: days.map((d) => d.contained) },
  ], { height: 180, every: Math.ceil(days.length / 16) });

  hbars("chart-outcomes", Object.entries(k.outcomes).map(([o, n]) => [(OUTCOMES[o] || [o])[0], n, (OUTCOMES[o] || [o, ""])[1]]));
  hbars("chart-transfers", Object.entries(k.transfer_reasons).map(([r, n]) => [r, n]));
  hbars("chart-intents", Object.entries(k.intents).slice(0, 10).map(([i, n]) => [i, n]));
  const scores = [1, 2, 3, 4, 5].map((n) => s.scores[n] || 0);
  columns("chart-satisfaction", ["1", "2", "3", "4", "5"], [
    { name: "Réponses", cls: "ok", color: "--ok", values: scores },
  ], { width: 560, height: 210 });
  columns("chart-latency", ["Réponse (fin de parole → robot)", "Accueil", "Reconnaissance vocale"], [
    { name: "p50", cls: "", color: "--accent", values: [k.latency.p50_ms, k.greeting.p50_ms, k.asr.p50_ms] },
    { name: "p95", cls: "warn", color: "--warn", values: [k.latency.p95_ms, k.greeting.p95_ms, k.asr.p95_ms] },
  ], { height: 180, format: (v) => `${Math.round(v)}` });
}

function renderClusters(data) {
  $("clusters-note").textContent = `— ${data.not_understood} phrases, ${data.clusters.length} groupes`;
  const body = $("clusters").querySelector("tbody");
  body.replaceChildren();
  if (!data.clusters.length) {
    const row = htmlEl("tr");
    row.append(htmlEl("td", { colspan: 4, class: "muted" }, "Aucun groupe sur la période"));
    body.append(row);
    return;
  }
  const top = data.clusters[0].share || 1;
  for (const c of data.clusters) {
    const row = htmlEl("tr", { class: "cluster" });
    row.append(htmlEl("td", { class: "label" }, c.label));
    row.append(htmlEl("td", { class: "num" }, String(c.count)));
    const share = htmlEl("td");
    share.append(htmlEl("span", { class: "share", style: `width: ${Math.round((80 * c.share) / top)}px` }), pct(c.share));
    row.append(share);
    const examples = htmlEl("td");
    const list = htmlEl("ul");
    for (const e of c.examples) list.append(htmlEl("li", {}, `« ${e} »`));
    examples.append(list);
    row.append(examples);
    body.append(row);
  }
}

const LIVE_MS = 3000;
const STALE_S = 10;
const ROLES = { control: "contrôle", worker: "traitement" };

function seconds(s) {
  if (s === null || s === undefined) return "–";
  const total = Math.max(0, Math.round(s));
  return total < 60 ? `${total} s` : `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
}

function nodeState(n) {
  if (n.heartbeat_age_s > STALE_S) return ["muet", "danger", "stale"];
  if (n.draining) return ["se vide", "warn", "draining"];
  return n.ready ? ["prêt", "ok", ""] : ["pas prêt", "warn", ""];
}

function renderNodes(cluster) {
  const table = $("nodes");
  table.hidden = !cluster.shared;
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const n of cluster.nodes) {
    const [state, tone, kind] = nodeState(n);
    const row = htmlEl("tr", { class: kind, "data-node": n.node });
    row.append(htmlEl("td", { class: "label" }, n.node));
    row.append(htmlEl("td", {}, (ROLES[n.role] || n.role) + (n.leader ? " · meneur" : "")));
    row.append(htmlEl("td", { class: `state ${tone}` }, state));
    row.append(htmlEl("td", { class: "num" }, String(n.active_calls)));
    row.append(htmlEl("td", { class: "num" }, n.role === "worker" ? String(n.capacity) : "–"));
    row.append(htmlEl("td", { class: "num" }, `il y a ${seconds(n.heartbeat_age_s)}`));
    body.append(row);
  }
}

function renderLiveCalls(calls) {
  const body = $("live-calls").querySelector("tbody");
  body.replaceChildren();
  if (!calls.length) {
    const row = htmlEl("tr");
    row.append(htmlEl("td", { colspan: 5, class: "muted" }, "Aucun appel en cours"));
    body.append(row);
    return;
  }
  const now = Date.now() / 1000;
  for (const c of calls) {
    const node = c.node ? `${c.node.host} · ${c.node.pid}` : "ce nœud";
    const last = [...c.turns].reverse().find((t) => t.intent);
    const row = htmlEl("tr", { class: "call", "data-call-id": c.call_id });
    row.append(htmlEl("td", { class: "label" }, c.call_id));
    row.append(htmlEl("td", {}, node));
    row.append(htmlEl("td", { class: "num" }, seconds(now - c.started_at)));
    row.append(htmlEl("td", { class: "num" }, String(c.turns.length)));
    row.append(htmlEl("td", {}, last ? last.intent : "–"));
    body.append(row);
  }
}

async function loadLive() {
  const live = $("live");
  try {
    const [cluster, calls] = await Promise.all([getJson("/api/cluster"), getJson("/api/calls?state=in_progress")]);
    const going = calls.filter((c) => c.state === "in_progress");
    renderNodes(cluster);
    renderLiveCalls(going);
    const count = cluster.nodes.length;
    const where = cluster.shared ? ` sur ${count} nœud${count > 1 ? "s" : ""}` : "";
    $("live-note").textContent = `— ${going.length} appel${going.length > 1 ? "s" : ""} en cours${where}`;
    live.dataset.state = "ready";
  } catch (error) {
    $("live-note").textContent = `— indisponible : ${error.message}`;
    live.dataset.state = "error";
  }
  setTimeout(loadLive, LIVE_MS);
}

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function period() {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const until = params.get("until") || isoDay(today);
  const since = params.get("since") || isoDay(new Date(today.getTime() - 6 * 86400000));
  return { since, until };
}

function nextDay(day) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${url}: HTTP ${response.status}`);
  return body;
}

async function load() {
  const main = $("dashboard");
  const { since, until } = period();
  $("since").value = since;
  $("until").value = until;
  main.dataset.state = "loading";
  const query = new URLSearchParams({ since, until: nextDay(until) });
  try {
    const [kpis, clusters] = await Promise.all([
      getJson(`/api/kpi?${query}`),
      getJson(`/api/clusters?${query}`),
    ]);
    $("period").textContent = `Du ${since.split("-").reverse().join("/")} au ${until.split("-").reverse().join("/")} inclus · ${kpis.timezone}`;
    renderKpis(kpis);
    renderClusters(clusters);
    $("error").hidden = true;
    main.dataset.state = "ready";
  } catch (error) {
    $("error").textContent = `Impossible de charger les indicateurs : ${error.message}`;
    $("error").hidden = false;
    main.dataset.state = "error";
  }
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams({ since: $("since").value, until: $("until").value });
  history.replaceState(null, "", `?${params}`);
  load();
});

load();
loadLive();
