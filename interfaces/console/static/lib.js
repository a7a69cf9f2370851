// Shared helpers of the console: DOM building, the API client, live updates, formatting.

export const state = { session: null };

// h("div", {class: "x", onclick: fn}, child, ...): text children are text nodes, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.kind = error.kind || "internal";
  }
}

// Every call goes with the session cookie; writes carry the login's CSRF value.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-Agentrun-CSRF"] = state.session ? state.session.csrf : "";
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path.startsWith("/") ? path : `/api/v1/${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const payload = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401 && state.onLoggedOut) state.onLoggedOut();
    throw new ApiError(response.status, payload);
  }
  return payload;
}

export const get = (path, params = {}) => api("GET", withQuery(path, params));

export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const can = (permission) => {
  const s = state.session;
  return !!s && (s.roles.includes("admin") || (s.permissions || []).includes(permission));
};

// A button for an action the principal may take; nothing at all when it may not.
export function action(permission, label, onclick, attrs = {}) {
  if (!can(permission)) return null;
  return h("button", { class: "action", "data-action": label, onclick, ...attrs }, label);
}

// A live feed of log events (the browser's own EventSource, so it resumes with Last-Event-ID),
// closed while the tab is hidden and reopened after the last event seen.
export class LiveLog {
  constructor(params, onEvent, { onState } = {}) {
    this.params = params;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.last = params.after || 0;
    this.paused = false;
    this.source = null;
    this.visibility = () => this.sync();
    document.addEventListener("visibilitychange", this.visibility);
    this.sync();
  }
  sync() {
    const want = !this.paused && !this.closed && document.visibilityState === "visible";
    if (want && !this.source) this.open();
    if (!want && this.source) {
      this.source.close();
      this.source = null;
      this.onState(this.paused ? "paused" : "hidden");
    }
  }
  open() {
    const source = new EventSource(withQuery("/api/v1/events/stream", { ...this.params, after: this.last }));
    source.onopen = () => this.onState("live");
    // The browser reconnects by itself (sending Last-Event-ID); CLOSED means it gave up (an error
    // status while the server restarts): start again after the last event shown.
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return this.onState("reconnecting");
      this.onState("closed");
      if (this.source === source) this.source = null;
      setTimeout(() => this.sync(), 2000);
    };
    const dispatch = (message) => {
      const position = Number(message.lastEventId);
      if (!(position > this.last)) return; // never show a frame twice
      this.last = position;
      this.onEvent(JSON.parse(message.data));
    };
    // Frames are named by event type, and EventSource reports a named frame only to its listeners.
    for (const type of LOG_EVENT_TYPES) source.addEventListener(type, dispatch);
    this.source = source;
  }
  setPaused(paused) {
    this.paused = paused;
    this.sync();
  }
  close() {
    this.closed = true;
    document.removeEventListener("visibilitychange", this.visibility);
    this.sync();
  }
}

// The event types of the log (EventSource needs a listener per event name), served by the server.
export const LOG_EVENT_TYPES = [];

export async function loadEventTypes() {
  if (!LOG_EVENT_TYPES.length) LOG_EVENT_TYPES.push(...(await get("/ui/event-types.json")));
}

// Re-run `refresh` when the log moves (SSE for those who may tail it, else a timer), at most
// one at a time, and never while the tab is hidden.
export function liveRefresh(refresh, { types, params = {}, interval = 2000 } = {}) {
  let running = false;
  let again = false;
  let position = 0;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await refresh(position);
    } catch (error) {
      console.warn(error);
    } finally {
      running = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
  if (can("events")) {
    let live = null;
    headPosition().then((head) => {
      if (live === false) return;
      const filter = types ? { types: types.join(","), ...params } : params;
      live = new LiveLog({ ...filter, after: head }, (item) => {
        position = Math.max(position, item.position);
        run();
      });
    });
    return () => {
      if (live) live.close();
      live = false;
    };
  }
  const timer = setInterval(() => document.visibilityState === "visible" && run(), interval);
  return () => clearInterval(timer);
}

export async function headPosition() {
  try {
    const rows = await get("projections");
    return Math.max(0, ...rows.map((row) => row.headPosition));
  } catch (error) {
    return 0;
  }
}

export function ago(iso) {
  if (!iso) return "—";
  const ms = Date.now() - Date.parse(iso);
  if (ms < 0) return "just now";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

export const json = (value) => h("pre", { class: "json" }, JSON.stringify(value, null, 2));

export function table(columns, rows, { empty = "Nothing here." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", row.__attrs || {}, columns.map((c) => h("td", {}, c.cell(row)))))),
  );
}

// A long id, shortened for tables; the whole id is in its tooltip and the copy buffer.
export function shortId(id) {
  return h("code", { class: "id", title: id }, id.length > 18 ? `${id.slice(0, 16)}…` : id);
}

export function pill(text, kind = text) {
  return h("span", { class: `pill pill-${String(kind).replace(/[^a-z-]/gi, "")}` }, text);
}

export function errorBox(error) {
  return h("div", { class: "error" }, `${error.kind || "error"}: ${error.message}`);
}

export function card(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}
