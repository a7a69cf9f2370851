// Queue: stats by state and lane, oldest pending age, the commander's top 20, cancel one or all matching.

import { action, ago, api, card, duration, errorBox, get, h, liveRefresh, pill, shortId, table } from "./lib.js";

const STATES = ["pending", "claimed", "running", "completed", "failed", "blocked", "cancelled"];
const QUEUE_EVENTS = ["QueueTask.Created", "QueueTask.AttemptRecorded", "QueueTask.Cancelled"];

export function queuePage(main) {
  const filter = { queue: "", state: "" };
  const queueInput = h("input", { id: "queue-filter", placeholder: "queue (all)", onchange: () => { filter.queue = queueInput.value.trim(); refresh(); } });
  const stateSelect = h("select", { id: "state-filter", onchange: () => { filter.state = stateSelect.value; refresh(); } },
    h("option", { value: "" }, "every state"), STATES.map((s) => h("option", { value: s }, s)));
  const bulk = action("queue:cancel", "Cancel all matching", cancelMatching, { id: "cancel-matching", class: "action danger" });
  const stats = h("div", { id: "queue-stats", class: "stat-row" });
  const lanes = h("div", { id: "queue-lanes" });
  const top = h("div", { id: "queue-top" });
  const list = h("div", { id: "queue-list" });
  const notice = h("div", { id: "queue-notice" });
  main.append(h("div", { class: "toolbar" }, queueInput, stateSelect, h("span", { class: "grow" }), bulk), notice, stats,
    h("div", { class: "columns" }, card("Commander: top 20", top), card("By lane", lanes)), card("Tasks", list));

  async function cancel(task) {
    const done = await api("POST", `queue/tasks/${encodeURIComponent(task.id)}/cancel`, { reason: "cancelled from the console" });
    await refresh(done.position);
  }

  async function cancelMatching() {
    const what = `every ${filter.state || "non-terminal"} task${filter.queue ? ` of queue ${filter.queue}` : ""}`;
    if (!confirm(`Cancel ${what} in your tenants (all pages, not just this one)?`)) return;
    const result = await api("POST", "queue/tasks:cancel", { queue: filter.queue || null, state: filter.state || null, reason: "bulk cancel from the console" });
    notice.replaceChildren(h("p", { class: "ok" }, `${result.cancelled} cancelled of ${result.matched} matching.`));
    await refresh(result.position);
  }

  const taskColumns = [
    { label: "Task", cell: (t) => shortId(t.id) },
    { label: "Queue / lane", cell: (t) => `${t.queue} / ${t.lane}` },
    { label: "Priority", cell: (t) => t.priority },
    { label: "State", cell: (t) => pill(t.state) },
    { label: "Created", cell: (t) => ago(t.createdAt) },
    { label: "", cell: (t) => (["pending", "claimed", "running"].includes(t.state) ? action("queue:cancel", "Cancel", () => cancel(t), { class: "action danger small" }) : null) },
  ];

  async function refresh(position) {
    try {
      const params = { queue: filter.queue, minPosition: position || null };
      const [commander, page] = await Promise.all([
        get("queue/commander", params),
        get("queue/tasks", { ...params, state: filter.state, limit: 50 }),
      ]);
      const s = commander.stats;
      stats.replaceChildren(
        stat("Total", s.total), ...STATES.map((k) => stat(k, s.byState[k] || 0)),
        stat("Oldest pending", duration(s.oldestPendingAgeMs)));
      lanes.replaceChildren(table([{ label: "Lane", cell: (r) => r[0] }, { label: "Tasks", cell: (r) => r[1] }],
        Object.entries(s.byLane), { empty: "No lanes yet." }));
      top.replaceChildren(table(taskColumns, commander.items, { empty: "Nothing waiting." }));
      list.replaceChildren(table(taskColumns, page.items, { empty: "No task matches." }));
    } catch (error) {
      notice.replaceChildren(errorBox(error));
    }
  }

  refresh();
  return liveRefresh(refresh, { types: QUEUE_EVENTS });
}

export function stat(label, value) {
  return h("div", { class: "stat", "data-stat": label }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label));
}
