// Inference: tasks by status with a live stream, pools, workers and LLMs with state and heartbeat.

import { action, ago, api, can, card, errorBox, get, h, liveRefresh, pill, shortId, table, withQuery } from "./lib.js";
import { stat } from "./queue.js";

const STATUSES = ["pending", "claimed", "running", "completed", "error", "cancelled"];
const INFERENCE_EVENTS = [
  "InferenceTask.Created", "InferenceTask.Claimed", "InferenceTask.ChunkStarted", "InferenceTask.Completed",
  "InferenceTask.Failed", "InferenceTask.Cancelled", "InferenceTask.RevertedOnDisconnect",
  "InferenceTask.ExpiredInPending", "Worker.Registered", "Worker.Reregistered", "Worker.Bound", "Worker.Unbound",
  "Worker.WentInactive", "Worker.Reactivated", "Worker.StateUpdated",
];

export function inferencePage(main) {
  let status = "";
  let stream = null;
  const statusSelect = h("select", { id: "status-filter", onchange: () => { status = statusSelect.value; refresh(); } },
    h("option", { value: "" }, "every status"), STATUSES.map((s) => h("option", { value: s }, s)));
  const counts = h("div", { class: "stat-row", id: "inference-counts" });
  const tasks = h("div", { id: "inference-tasks" });
  const live = h("pre", { id: "inference-stream", class: "stream" }, "Pick a task to follow its stream.");
  const workers = h("div", { id: "workers" });
  const llms = h("div", { id: "llms" });
  const notice = h("div");
  main.append(h("div", { class: "toolbar" }, statusSelect), notice, counts,
    h("div", { class: "columns" }, card("Tasks", tasks), card("Live stream", live)),
    h("div", { class: "columns" }, card("Workers", workers), card("LLMs and pools", llms)));

  function follow(task) {
    if (stream) stream.close();
    live.textContent = `${task.id} (${task.llmName})\n`;
    // The browser's EventSource sends the session cookie: no token in the URL.
    stream = new EventSource(withQuery(`/api/v1/inference-tasks/${encodeURIComponent(task.id)}/stream`, {}));
    stream.addEventListener("chunk", (m) => { live.textContent += chunkText(JSON.parse(m.data)); });
    stream.addEventListener("status", (m) => { live.textContent += `\n[${JSON.parse(m.data).status || "status"}]\n`; });
    for (const end of ["completed", "error", "cancelled"]) {
      stream.addEventListener(end, (m) => { live.textContent += `\n[${end}] ${m.data.slice(0, 500)}\n`; stream.close(); });
    }
  }

  async function refresh(position) {
    try {
      const params = { minPosition: position || null };
      const [page, byStatus, w, l] = await Promise.all([
        get("inference-tasks", { status, limit: 50 }),
        get("inference-tasks/counts", params),  // counters of the projection, never a scan
        get("workers", params).catch((e) => ({ error: e })),
        get("llms", params).catch((e) => ({ error: e })),
      ]);
      counts.replaceChildren(...STATUSES.map((s) => stat(s, byStatus[s] || 0)));
      tasks.replaceChildren(table([
        { label: "Task", cell: (t) => h("a", { href: "#/inference", onclick: (e) => { e.preventDefault(); follow(t); } }, shortId(t.id)) },
        { label: "LLM / pool", cell: (t) => `${t.llmName} / ${t.poolName}` },
        { label: "Status", cell: (t) => pill(t.status) },
        { label: "Worker", cell: (t) => t.claimedBy || "—" },
        { label: "Created", cell: (t) => ago(t.createdAt) },
        { label: "", cell: (t) => (["pending", "claimed", "running"].includes(t.status)
          ? action(can("inference:cancel-all") ? "inference:cancel-all" : "inference:cancel-own", "Cancel", async () => {
            const done = await api("DELETE", `inference-tasks/${encodeURIComponent(t.id)}`);
            await refresh(done.position);
          }, { class: "action danger small" }) : null) },
      ], page.items, { empty: "No inference tasks (last 50 shown)." }));
      workers.replaceChildren(w.error ? errorBox(w.error) : table([
        { label: "Worker", cell: (x) => x.workerId },
        { label: "State", cell: (x) => pill(x.status) },
        { label: "Bound", cell: (x) => (x.bound ? "yes" : "no") },
        { label: "LLMs", cell: (x) => x.llms.map((m) => m.name).join(", ") },
        { label: "Last heartbeat", cell: (x) => ago(x.lastHeartbeatAt) },
      ], w.items, { empty: "No workers registered." }));
      llms.replaceChildren(l.error ? errorBox(l.error) : table([
        { label: "LLM", cell: (m) => m.name },
        { label: "Pool", cell: (m) => m.poolName },
        { label: "Model", cell: (m) => m.model },
        { label: "State", cell: (m) => pill(m.status) },
        { label: "Worker", cell: (m) => m.workerId },
      ], l.items, { empty: "No LLMs." }));
    } catch (error) {
      notice.replaceChildren(errorBox(error));
    }
  }

  refresh();
  const stop = liveRefresh(refresh, { types: INFERENCE_EVENTS });
  return () => {
    stop();
    if (stream) stream.close();
  };
}

function chunkText(chunk) {
  const data = chunk.data ?? chunk;
  const delta = data?.choices?.[0]?.delta?.content;
  return typeof delta === "string" ? delta : typeof data === "string" ? data : JSON.stringify(data);
}
