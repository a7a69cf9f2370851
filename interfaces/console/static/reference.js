// API: a readable reference rendered from /openapi.json, with a copyable curl for each route.

import { card, errorBox, get, h } from "./lib.js";

export function apiPage(main) {
  const box = h("div", { id: "reference" });
  const search = h("input", { id: "route-search", type: "search", placeholder: "filter routes…", oninput: () => render() });
  main.append(h("div", { class: "toolbar" }, search), box);
  let spec = null;

  function render() {
    const needle = search.value.toLowerCase();
    const routes = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!`${method} ${path} ${op.summary || ""}`.toLowerCase().includes(needle)) continue;
        routes.push(route(spec, method.toUpperCase(), path, op));
      }
    }
    box.replaceChildren(...routes);
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
  return card(h("span", {}, h("span", { class: `method m-${method}` }, method), " ", path),
    h("p", {}, op.summary || ""),
    params.length ? h("p", { class: "muted" }, `Parameters: ${params.join(", ")}`) : null,
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
