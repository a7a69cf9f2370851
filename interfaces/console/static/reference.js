// API: a readable reference rendered from /openapi.json, with a copyable curl for each route.

import { card, errorBox, get, h } from "./lib.js";

export function apiPage(main) {
  const box = h("div", { id: "reference" });
  const search = h("input", { id: "route-search", type: "search", placeholder: "filter routes…", oninput: () => render() });
  main.append(h("div", { class: "toolbar" }, search), box);
  let spec = null;

  function render() {
    const needle = search.value.toLowerCase();
    const groups = new Map();
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!`${method} ${path} ${op.summary || ""}`.toLowerCase().includes(needle)) continue;
        // Grouped by the first path segment under /api/v1 (runs, sessions, queue, ...).
        const group = path.startsWith("/api/v1/") ? path.split("/")[3]
          : path.startsWith("/v1/") ? "OpenAI-compatible" : path.startsWith("/ui") ? "console" : "ops";
        if (!groups.has(group)) groups.set(group, []);
        groups.get(group).push(route(spec, method.toUpperCase(), path, op));
      }
    }
    box.replaceChildren(...[...groups].map(([group, routes]) => card(group, ...routes)));
  }

  get("/openapi.json").then((s) => { spec = s; render(); }, (error) => box.replaceChildren(errorBox(error)));
  return () => {};
}

function route(spec, method, path, op) {
  const params = (op.parameters || []).map((p) => `${p.name}${p.in === "query" ? "?" : ""}`);
  const bodyRef = op.requestBody?.content?.["application/json"]?.schema?.$ref;
  const body = bodyRef ? example(spec, bodyRef) : null;
  const curl = [
    `curl -X ${method}`,
    path.startsWith("/api/") ? `-H "Authorization: Bearer $AGENTRUN_TOKEN"` : null,
    body ? `-H 'Content-Type: application/json' -d '${JSON.stringify(body)}'` : null,
    `"${location.origin}${path}"`,
  ].filter(Boolean).join(" ");
  const copy = h("button", { class: "small", type: "button", onclick: async () => {
    await navigator.clipboard.writeText(curl).catch(() => {});
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy curl"; }, 1200);
  } }, "Copy curl");
  return h("div", { class: "route" },
    h("div", { class: "route-head" }, h("span", { class: `method m-${method}` }, method), h("code", { class: "path" }, path),
      h("span", {}, op.summary || ""), params.length ? h("span", { class: "muted" }, `(${params.join(", ")})`) : null),
    h("div", { class: "curl" }, h("code", {}, curl), copy));
}

// A skeleton body from the schema: required fields with placeholder values.
function example(spec, ref) {
  const schema = spec.components?.schemas?.[ref.split("/").pop()];
  if (!schema || !schema.properties) return {};
  const out = {};
  for (const name of schema.required || []) {
    const p = schema.properties[name] || {};
    const type = p.type || (p.anyOf || []).map((x) => x.type).find((t) => t && t !== "null");
    out[name] = type === "integer" || type === "number" ? 0 : type === "boolean" ? false : type === "object" ? {} : type === "array" ? [] : "…";
  }
  return out;
}
