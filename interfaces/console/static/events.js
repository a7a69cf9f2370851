// Event log: filters, a live tail with pause (EventSource, resumes by Last-Event-ID), and audit.

import { ago, card, errorBox, get, h, headPosition, json, LiveLog, shortId } from "./lib.js";

const MAX_ROWS = 500;
const FILTERS = [["types", "types (comma separated)"], ["aggregateId", "aggregate id"], ["runId", "run id"], ["sessionId", "session id"]];

export function eventsPage(main) {
  const inputs = Object.fromEntries(FILTERS.map(([key, label]) => [key, h("input", { id: `filter-${key}`, placeholder: label })]));
  const pause = h("button", { id: "pause", type: "button", onclick: () => setPaused(!paused) }, "Pause");
  const status = h("span", { id: "tail-state", class: "live-state" });
  const rows = h("tbody", { id: "tail" });
  const audit = h("div", { id: "audit" });
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); start(); } },
    Object.values(inputs), h("button", { type: "submit" }, "Apply"), h("span", { class: "grow" }), status, pause);
  main.append(form, h("div", { class: "columns wide-left" },
    card("Live tail", h("table", { class: "tail" }, h("thead", {}, h("tr", {},
      ["Position", "Type", "Aggregate", "v", "Actor", "When"].map((c) => h("th", {}, c)))), rows)),
    card("Audit", audit)));
  auditForm(audit);

  let live = null;
  let paused = false;

  function setPaused(value) {
    paused = value;
    pause.textContent = paused ? "Resume" : "Pause";
    if (live) live.setPaused(paused);
  }

  async function start() {
    if (live) live.close();
    rows.replaceChildren();
    const head = await headPosition();
    // Show some history: the tail starts a little before the head (positions are not contiguous).
    const after = Math.max(0, head - 100);
    rows.dataset.start = after;
    const params = {};
    for (const [key, input] of Object.entries(inputs)) if (input.value.trim()) params[key] = input.value.trim();
    live = new LiveLog({ ...params, after }, add, { onState: (s) => { status.textContent = s; status.dataset.state = s; } });
    live.setPaused(paused);
  }

  function add(item) {
    rows.prepend(h("tr", { "data-position": item.position },
      h("td", {}, item.position), h("td", {}, item.type),
      h("td", {}, h("a", { href: "#/events", onclick: (e) => { e.preventDefault(); showAudit(audit, item.aggregateId); } }, item.aggregateType, " ", shortId(item.aggregateId))),
      h("td", {}, item.aggregateVersion), h("td", {}, item.actor || "—"), h("td", {}, ago(item.timestamp))));
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild.remove();
  }

  start();
  return () => live && live.close();
}

function auditForm(box) {
  const input = h("input", { id: "audit-id", placeholder: "aggregate id" });
  box.replaceChildren(h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); showAudit(box, input.value.trim()); } },
    input, h("button", { type: "submit" }, "Audit")), h("p", { class: "empty" }, "Click an aggregate in the tail, or enter its id."));
}

async function showAudit(box, aggregateId) {
  if (!aggregateId) return;
  try {
    const latest = await get(`audit/${encodeURIComponent(aggregateId)}`);
    const slider = h("input", { id: "audit-version", type: "range", min: 1, max: latest.version, value: latest.version });
    const label = h("span", { id: "audit-version-label" });
    const body = h("div");
    const render = async () => {
      const at = await get(`audit/${encodeURIComponent(aggregateId)}`, { version: slider.value });
      label.textContent = `version ${at.version} of ${latest.version}`;
      body.replaceChildren(
        h("ol", { class: "history" }, at.history.map((e) => h("li", { class: e.aggregateVersion === at.version ? "current" : null },
          h("b", {}, `v${e.aggregateVersion} ${e.type}`), ` by ${e.actor || "unknown"}`,
          e.requestId ? h("span", { class: "muted" }, ` · request ${e.requestId}`) : null, h("span", { class: "muted" }, ` · ${e.timestamp}`)))),
        h("h3", {}, "State at this version"), json(at.state));
    };
    slider.addEventListener("input", render);
    box.replaceChildren(h("h3", {}, `${latest.aggregateType} ${latest.aggregateId}`), h("div", { class: "toolbar" }, slider, label), body);
    await render();
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
}
