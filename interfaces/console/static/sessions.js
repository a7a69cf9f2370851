// Sessions: tabs by state with counts, unread badges, filters; one session's live trace and controls.

import { action, ago, api, card, errorBox, get, h, json, liveRefresh, pill, state, table } from "./lib.js";

const TABS = [
  ["default", "Attention"],
  ["running", "Running"],
  ["unread", "Unread"],
  ["terminal", "Terminal"],
  ["idle", "Idle"],
  ["all", "All"],
];
const SESSION_EVENTS = [
  "Session.Created", "Session.VersionBumped", "Session.ThreadUpdated", "Session.ReadMarked",
  "Run.Created", "Run.Claimed", "Run.Finished", "Run.Cancelled",
  "Command.Created", "Command.Finished", "Command.Cancelled",
];

export function sessionsPage(main) {
  const view = { tab: "default", profile: "", search: "", items: [], next: null };
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const profile = h("select", { id: "profile-filter", onchange: () => { view.profile = profile.value; reload(); } },
    h("option", { value: "" }, "every backend profile"));
  // Title search is the server's (`q=`, every word a word prefix), debounced while typing.
  let typing = null;
  const search = h("input", { id: "title-search", type: "search", placeholder: "search titles…",
    oninput: () => {
      clearTimeout(typing);
      typing = setTimeout(() => { view.search = search.value.trim(); reloadList(); }, 250);
    } });
  const list = h("div", { id: "session-list" });
  const more = h("button", { id: "load-more", hidden: true, onclick: () => load(view.next) }, "Load more");
  main.append(h("div", { class: "toolbar" }, tabs, h("span", { class: "grow" }), profile, search), list, more);

  get("backends").then((profiles) => {
    for (const p of profiles) profile.append(h("option", { value: p.profile }, p.profile));
  }, () => {});

  async function counts(position) {
    const c = await get("sessions/counts", { readerId: state.readerId, backendProfile: view.profile, minPosition: position || null });
    tabs.replaceChildren(...TABS.map(([key, label]) =>
      h("button", { role: "tab", class: key === view.tab ? "tab active" : "tab", "data-tab": key,
        onclick: () => { view.tab = key; reload(); } }, label, h("span", { class: "count", "data-count": key }, c[key]))));
  }

  let asked = 0;
  async function load(cursor, position) {
    const limit = cursor ? 50 : Math.min(100, Math.max(50, view.items.length));
    const ask = ++asked;
    const page = await get("sessions", { state: view.tab, readerId: state.readerId, backendProfile: view.profile,
      q: view.search || null, limit, cursor, minPosition: position || null });
    if (ask !== asked) return; // a newer search or tab answered meanwhile
    view.items = cursor ? view.items.concat(page.items) : page.items;
    view.next = page.nextCursor;
    render();
  }

  function render() {
    const rows = view.items;
    list.replaceChildren(table([
      { label: "Session", cell: (s) => h("a", { href: `#/sessions/${encodeURIComponent(s.sessionId)}` }, s.title || s.sessionId) },
      { label: "", cell: (s) => (s.unread ? pill("unread", "unread") : null) },
      { label: "State", cell: (s) => pill(s.active ? "running" : s.executionState, s.active ? "running" : s.executionState) },
      { label: "Status", cell: (s) => s.terminalStatus || "" },
      { label: "Profile", cell: (s) => s.backendProfile },
      { label: "Tenant / project", cell: (s) => `${s.tenantId} / ${s.projectId}` },
      { label: "Last activity", cell: (s) => ago(s.lastActivityAt) },
    ], rows.map((s) => ({ ...s, __attrs: { class: s.unread ? "unread" : null, "data-session": s.sessionId } })),
    { empty: view.search ? "No session title matches." : "No sessions in this tab." }));
    more.hidden = !view.next;
  }

  async function reloadList() {
    try {
      await load(null);
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }

  async function reload(position) {
    try {
      await Promise.all([counts(position), load(null, position)]);
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }

  reload();
  return liveRefresh(reload, { types: SESSION_EVENTS });
}

export function sessionPage(main, sessionId) {
  const head = h("div", { id: "session-head" });
  const runBox = h("div", { id: "session-run" });
  const commands = h("div", { id: "session-commands" });
  const backend = h("div", { id: "session-backend" });
  const trace = h("ol", { id: "trace", class: "trace" });
  const output = h("div", { id: "output", class: "output" });
  main.append(
    h("p", {}, h("a", { href: "#/sessions" }, "← Sessions")),
    head,
    h("div", { class: "columns" },
      h("div", {}, card("Trace", trace), card("Output", output)),
      h("div", {}, runBox, commands, backend)),
  );
  const seen = { runId: null, seq: 0 };

  async function refresh(position) {
    const summary = await get(`sessions/${encodeURIComponent(sessionId)}`, { readerId: state.readerId, minPosition: position || null });
    renderHead(summary);
    const runId = summary.activeRunId || summary.lastRunId;
    if (runId !== seen.runId) {
      seen.runId = runId;
      seen.seq = 0;
      trace.replaceChildren();
      output.replaceChildren();
    }
    await appendTrace();
    if (runId) await renderRun(runId);
  }

  async function appendTrace() {
    for (;;) {
      const page = await get(`sessions/${encodeURIComponent(sessionId)}/trace`,
        { runId: seen.runId, afterSeq: seen.seq, limit: 500 });
      for (const item of page.items) {
        seen.seq = Math.max(seen.seq, item.seq);
        trace.append(h("li", { "data-seq": item.seq, class: `ev ev-${item.type}` },
          h("span", { class: "seq" }, `#${item.seq}`), h("span", { class: "type" }, item.type),
          h("span", { class: "payload" }, summarize(item.payload))));
        if (["assistant_message", "command_output", "diff", "error", "terminal_status"].includes(item.type)) {
          output.append(h("div", { class: `out out-${item.type}` }, h("b", {}, item.type), " ", summarize(item.payload)));
        }
      }
      if (!page.nextCursor || !page.items.length) return;
    }
  }

  function renderHead(s) {
    head.replaceChildren(h("div", { class: "session-title" },
      h("h1", {}, s.title || s.sessionId),
      s.unread ? pill("unread", "unread") : null,
      pill(s.active ? "running" : s.executionState, s.active ? "running" : s.executionState),
      h("span", { class: "grow" }),
      action("session:mark-read", "Mark read", async () => {
        await api("POST", `sessions/${encodeURIComponent(sessionId)}/read`, { readerId: state.readerId });
        await refresh();
      }, { id: "mark-read" }),
      s.activeRunId ? action("run:cancel", "Cancel run", async () => {
        if (!confirm("Cancel this run?")) return;
        const run = await api("POST", `runs/${encodeURIComponent(s.activeRunId)}/cancel`, { reason: "cancelled from the console" });
        await refresh(run.position);
      }, { id: "cancel-run", class: "action danger" }) : null),
    h("dl", { class: "facts" },
      fact("Session", s.sessionPath), fact("Profile", s.backendProfile), fact("Version", s.version),
      fact("Attention", s.attentionState), fact("Terminal status", s.terminalStatus || "—"),
      fact("Read cursor", s.readCursor ? `v${s.readCursor.sessionVersion} ${ago(s.readCursor.readAt)}` : "never"),
      fact("Last activity", ago(s.lastActivityAt))));
  }

  async function renderRun(runId) {
    const id = encodeURIComponent(runId);
    const [run, cmds, back] = await Promise.all([
      get(`runs/${id}`),
      get(`runs/${id}/commands`, { limit: 100 }),
      get(`runs/${id}/backend`).catch(() => null),
    ]);
    runBox.replaceChildren(card("Run", h("dl", { class: "facts" },
      fact("Run", run.id), fact("Status", run.status), fact("Claimed by", run.claimedBy || "—"), fact("Claim epoch", run.claimEpoch),
      fact("Lease expires", run.leaseExpiresAt || "—"), fact("Failure", run.failureKind || "—"))));
    commands.replaceChildren(card("Commands", table([
      { label: "#", cell: (c) => c.seq },
      { label: "Type", cell: (c) => c.type },
      { label: "State", cell: (c) => pill(c.state) },
      { label: "Created", cell: (c) => ago(c.createdAt) },
      { label: "", cell: (c) => (["pending", "acknowledged"].includes(c.state)
        ? action("command:cancel", "Cancel", async () => {
          const done = await api("POST", `commands/${encodeURIComponent(c.id)}/cancel`, { reason: "cancelled from the console" });
          await refresh(done.position);
        }, { class: "action danger small" }) : null) },
    ], cmds.items, { empty: "No commands." })));
    backend.replaceChildren(card("Backend", back ? h("div", {},
      h("p", {}, "Current: ", h("b", {}, back.current || "—"), ` · ${back.switches} switch(es)`),
      table([{ label: "Backend", cell: (b) => b.backendId }, { label: "Cache key", cell: (b) => b.cacheKey || "" },
        { label: "At", cell: (b) => ago(b.at) }], back.history, { empty: "No backend recorded." })) : h("p", { class: "empty" }, "—")));
  }

  refresh().catch((error) => head.replaceChildren(errorBox(error)));
  return liveRefresh(refresh, { params: { sessionId }, interval: 1000 });
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value === null || value === undefined ? "—" : String(value))];
}

function summarize(payload) {
  const text = typeof payload?.text === "string" ? payload.text : JSON.stringify(payload);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export { json };
