// The emulator's page: endpoints drawn as their pipelines, the live request log, one invocation's waterfall.
// Plain DOM, no framework, nothing fetched from outside the emulator. Every text from the log goes in
// through textContent: bodies are whatever a client sent.
"use strict";

const PIPELINES_EVERY_MS = 2000;
const LOG_WAIT_S = 2;  // the log answers as soon as something new arrives, or after this long
const KEPT_ROWS = 500;
const DIFF_CELLS = 1e6;  // a line diff of longer answers would hold the page

const state = { since: 0, selected: null, records: new Map() };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function getJSON(path) {
  const answer = await fetch(path, { cache: "no-store" });
  if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
  return answer.json();
}

// -- pipelines ----------------------------------------------------------------------------------------------
async function refreshPipelines() {
  try {
    const data = await getJSON("pipelines");
    drawPipelines(data.endpoints);
    document.getElementById("state").textContent = `state: ${data.state}`;
    const log = data.request_log;
    document.getElementById("dropped").textContent =
      log ? (log.dropped ? `(${log.dropped} dropped under load)` : "") : "(the request log is off)";
    setStatus("live", "ok");
  } catch (error) {
    setStatus(`cannot reach the emulator: ${error.message}`, "bad");
  }
}

function drawPipelines(endpoints) {
  const root = document.getElementById("pipelines");
  root.replaceChildren();
  if (!endpoints.length) root.append(el("p", { class: "muted", text: "No endpoint runs." }));
  for (const endpoint of endpoints) {
    // Serial: each container's answer is the next one's request. Direct: the request names one container.
    const variants = endpoint.variants.map((variant) => {
      const chain = el("div", { class: `chain ${variant.mode.toLowerCase()}` });
      chain.append(el("div", { class: "client", text: "client" }));
      variant.containers.forEach((container) => {
        chain.append(el("div", { class: "arrow", text: variant.mode === "Direct" ? "⇢" : "→" }));
        chain.append(drawContainer(endpoint.name, container));
      });
      return el("div", { class: "variant", "data-testid": `variant-${endpoint.name}-${variant.name}` },
        el("div", { class: "variant-name", text: `variant ${variant.name} · ${variant.mode}` }), chain);
    });
    root.append(el("div", { class: "endpoint", "data-testid": `endpoint-${endpoint.name}` },
      el("h3", { text: endpoint.name }), ...variants));
  }
}

// A multi-model container's hops say what each did: load, unload or invoke of which TargetModel.
function hopName(hop) {
  return hop.action ? `${hop.container} ${hop.action} ${hop.model}` : hop.container;
}

function drawContainer(endpoint, container) {
  const health = container.healthy ? "healthy" : container.status === "starting" ? "starting" : "unhealthy";
  return el("div", { class: `container ${health}`, "data-testid": `container-${container.hostname}` },
    el("div", { class: "container-name" }, el("span", { class: "dot", title: health }), container.hostname),
    el("div", { class: "muted small", text: container.image }),
    el("div", { class: "small", text: `${health} · ${container.status}` +
      (container.port ? ` · port ${container.port}` : "") + (container.restarts ? ` · ${container.restarts} restarts` : "") }),
    el("button", { type: "button", class: "link", "data-testid": `logs-${container.hostname}`,
      onclick: () => showLogs(endpoint, container.hostname), text: "logs" }));
}

async function showLogs(endpoint, hostname) {
  const panel = document.getElementById("logs");
  document.getElementById("logs-title").textContent = `${endpoint}/${hostname}`;
  const text = document.getElementById("logs-text");
  text.textContent = "loading…";
  panel.hidden = false;
  const answer = await fetch(`endpoints/${encodeURIComponent(endpoint)}/containers/${encodeURIComponent(hostname)}/logs?tail=200`);
  text.textContent = (await answer.text()) || "(it printed nothing)";
  panel.scrollIntoView({ behavior: "smooth" });
}

// -- the request log ----------------------------------------------------------------------------------------
async function followLog() {
  for (;;) {
    try {
      const page = await getJSON(`invocations?since=${state.since}&wait=${LOG_WAIT_S}`);
      state.since = page.next >= state.since ? page.next : 0;  // smaller: the emulator started again
      const entries = page.invocations.concat(page.events).sort((a, b) => a.seq - b.seq);
      for (const entry of entries) addRow(entry);
      drawAgreement(page.shadow_agreement || []);
    } catch (error) {
      setStatus(`request log: ${error.message}`, "bad");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// Where an invocation went: its variant, the inference component it named, and the copy (instance) that answered.
function answeredBy(record) {
  const copy = record.hops.map((hop) => hop.instance).find(Boolean);
  return [record.variant, record.inference_component, copy].filter(Boolean).join("/");
}

function addRow(entry) {
  const body = document.querySelector("#invocations tbody");
  document.getElementById("empty").hidden = true;
  let row;
  if (entry.kind === "invocation") {
    state.records.set(entry.seq, entry);
    const status = entry.error ? `${entry.status} ${entry.error.code}` : String(entry.status);
    const shadow = entry.shadow ? ` (shadow, ${entry.shadow.agrees ? "agrees" : "differs"})` : "";
    row = el("tr", { class: `invocation ${entry.error ? "failed" : "ok"}${entry.shadow ? " shadow" : ""}`,
      "data-testid": "invocation", "data-seq": entry.seq, onclick: () => select(entry.seq) },
      el("td", { text: clock(entry.time) }), el("td", { text: entry.endpoint }), el("td", { text: answeredBy(entry) + shadow }),
      el("td", { class: "status", text: status }), el("td", { class: "number", text: entry.ms.toFixed(1) }),
      el("td", { text: (entry.cold_start_ms != null ? `cold start ${entry.cold_start_ms.toFixed(0)} ms · ` : "")
        + entry.hops.map(hopName).join(" → ") }));
  } else {
    row = el("tr", { class: "event", "data-testid": "event" },
      el("td", { text: clock(entry.time) }), el("td", { text: entry.endpoint }),
      el("td", { colspan: 4, text: `${entry.container}: container ${entry.event}${entry.detail ? ` (${entry.detail})` : ""}` }));
  }
  body.prepend(row);
  while (body.rows.length > KEPT_ROWS) {
    const last = body.rows[body.rows.length - 1];
    state.records.delete(Number(last.dataset.seq));
    last.remove();
  }
}

function select(seq) {
  const record = state.records.get(seq);
  if (!record) return;
  state.selected = seq;
  for (const row of document.querySelectorAll("#invocations tr.selected")) row.classList.remove("selected");
  document.querySelector(`#invocations tr[data-seq="${seq}"]`)?.classList.add("selected");
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-title").textContent =
    `#${record.seq} · ${record.endpoint}/${answeredBy(record)} · ${clock(record.time)} · ${record.ms.toFixed(1)} ms`
    + (record.cold_start_ms != null ? ` · cold start ${record.cold_start_ms.toFixed(0)} ms` : "");
  drawError(record);
  drawWaterfall(record);
  drawShadow(record);
  drawBodies(record);
}

// -- shadow variants ----------------------------------------------------------------------------------------
function drawAgreement(tallies) {
  const root = document.getElementById("shadow-agreement");
  root.replaceChildren(...tallies.map((tally) => el("li", { "data-testid": `agreement-${tally.endpoint}-${tally.variant}`,
    text: `shadow ${tally.endpoint}/${tally.variant} answered as ${tally.production_variant} did in ${tally.agreed} of ` +
      `${tally.compared} copies (${Math.round((100 * tally.agreed) / Math.max(tally.compared, 1))} %)` })));
}

// A shadow's copy of a request: production's answer and the shadow's side by side, and their line diff.
function drawShadow(record) {
  const root = document.getElementById("shadow");
  root.replaceChildren();
  root.hidden = !record.shadow;
  if (!record.shadow) return;
  const verdict = record.shadow.agrees ? "answered as production did" : record.error ? "failed" : "answered differently";
  root.append(el("h3", { "data-testid": "shadow-verdict", text: `Shadow of ${record.shadow.production_variant}: ${verdict}` }));
  const last = record.hops[record.hops.length - 1];
  const production = record.shadow.production_body;
  const shadow = record.error ? `${record.status} ${record.error.code}: ${record.error.message}` : last && last.response_body;
  if (production === undefined || shadow === undefined || shadow === null) {
    root.append(el("p", { class: "muted", text: "Bodies are not kept: start with `serve --log-bodies BYTES` to compare the answers." }));
    return;
  }
  root.append(el("div", { class: "side-by-side" },
    el("div", {}, el("h4", { text: `production (${record.shadow.production_variant})` }),
      el("pre", { class: "body", "data-testid": "shadow-production", text: production })),
    el("div", {}, el("h4", { text: `shadow (${record.variant})` }),
      el("pre", { class: "body", "data-testid": "shadow-answer", text: shadow }))));
  const [before, after] = [production.split("\n"), shadow.split("\n")];
  if (before.length * after.length > DIFF_CELLS) {
    root.append(el("p", { class: "muted", text: "Too many lines to diff here." }));
    return;
  }
  const diff = el("pre", { class: "body diff", "data-testid": "shadow-diff" });
  for (const [mark, line] of lineDiff(before, after)) {
    diff.append(el("span", { class: mark === "-" ? "removed" : mark === "+" ? "added" : "", text: `${mark} ${line}\n` }));
  }
  root.append(el("h4", { text: "diff (- production, + shadow)" }), diff);
}

// The lines of a and b as kept (" "), removed ("-") and added ("+"), by their longest common subsequence.
function lineDiff(a, b) {
  const common = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { lines.push([" ", a[i]]); i++; j++; }
    else if (j < b.length && (i === a.length || common[i][j + 1] >= common[i + 1][j])) { lines.push(["+", b[j]]); j++; }
    else { lines.push(["-", a[i]]); i++; }
  }
  return lines;
}

function failedHop(record) {
  return record.error ? record.hops.find((hop) => hop.status === 0 || hop.status >= 400) : undefined;
}

function drawError(record) {
  const node = document.getElementById("detail-error");
  node.hidden = !record.error;
  if (!record.error) return;
  const hop = failedHop(record);
  const where = hop ? `Container ${hop.container} failed` + (hop.status ? ` with ${hop.status}` : " (no answer)") : "Refused";
  const answer = record.error.OriginalMessage !== undefined ? `: it answered "${record.error.OriginalMessage}"` : "";
  node.textContent = `${record.status} ${record.error.code}. ${where}${answer}. ${record.error.message}`;
}

// Where the milliseconds went: hops run one after the other, so each bar starts where the previous ended;
// what is left of the total is the emulator's own time (reading the request, routing, answering).
function drawWaterfall(record) {
  const root = document.getElementById("waterfall");
  root.replaceChildren();
  const total = Math.max(record.ms, record.hops.reduce((sum, hop) => sum + hop.ms, 0), 0.001);
  let offset = 0;
  const failed = failedHop(record);
  record.hops.forEach((hop, index) => {
    const bar = el("div", { class: "bar", style: `left:${(offset / total) * 100}%;width:${Math.max((hop.ms / total) * 100, 0.5)}%` });
    offset += hop.ms;
    const facts = `${hop.content_type_in || "-"} → ${hop.content_type_out || "-"} · accept ${hop.accept_in || "-"} · ` +
      `${hop.bytes_in} B in, ${hop.bytes_out} B out · status ${hop.status || "none"}`;
    root.append(el("div", { class: `hop${hop === failed ? " failed" : ""}`, "data-testid": "hop", "data-container": hop.container },
      el("div", { class: "hop-name", text: `${index + 1}. ${hopName(hop)}` }),
      el("div", { class: "track" }, bar),
      el("div", { class: "number", text: `${hop.ms.toFixed(1)} ms` }),
      el("div", { class: "facts small", text: facts }),
      hop.warning ? el("div", { class: "warning", "data-testid": "hop-warning", text: `⚠ ${hop.warning}` }) : null));
  });
  const own = record.ms - offset;
  if (own > 0) {
    root.append(el("div", { class: "hop own" }, el("div", { class: "hop-name", text: "emulator" }),
      el("div", { class: "track" }, el("div", { class: "bar", style: `left:${(offset / total) * 100}%;width:${Math.max((own / total) * 100, 0.5)}%` })),
      el("div", { class: "number", text: `${own.toFixed(1)} ms` }),
      el("div", { class: "facts small", text: "reading the request, routing, answering" })));
  }
  if (!record.hops.length) root.append(el("p", { class: "muted", text: "Refused before any container was called." }));
}

function drawBodies(record) {
  const root = document.getElementById("bodies");
  root.replaceChildren();
  const kept = record.hops.some((hop) => hop.request_body !== undefined);
  if (!kept) {
    root.append(el("p", { class: "muted", text: "Bodies are not kept: start with `serve --log-bodies BYTES` " +
      "(or Emulator(..., log_bodies=BYTES)) to see what each container received and returned." }));
    return;
  }
  for (const hop of record.hops) {
    for (const [key, label] of [["request_body", "received"], ["response_body", "returned"]]) {
      if (hop[key] === undefined || hop[key] === null) continue;
      const cut = hop[`${key}_truncated`] ? ` (first bytes of ${hop[`${key}_truncated`]})` : "";
      root.append(el("h4", { text: `${hop.container} ${label}${cut}` }),
        el("pre", { class: "body", "data-testid": `body-${hop.container}-${label}`, text: hop[key] }));
    }
  }
}

// -- little things ------------------------------------------------------------------------------------------
function clock(seconds) {
  const moment = new Date(seconds * 1000);
  return moment.toLocaleTimeString([], { hour12: false }) + "." + String(moment.getMilliseconds()).padStart(3, "0");
}

function setStatus(text, kind) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = kind;
}

document.getElementById("logs-close").addEventListener("click", () => { document.getElementById("logs").hidden = true; });
refreshPipelines();
setInterval(refreshPipelines, PIPELINES_EVERY_MS);
followLog();
