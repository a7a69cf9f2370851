// Projections: each view's position, the log head, lag, status and the stalled error if any.

import { card, errorBox, get, h, pill, table } from "./lib.js";

export function projectionsPage(main) {
  const box = h("div", { id: "projections" });
  main.append(card("Projections", box));

  async function refresh() {
    try {
      const rows = await get("projections");
      box.replaceChildren(table([
        { label: "Projection", cell: (p) => p.name },
        { label: "Position", cell: (p) => p.position },
        { label: "Head", cell: (p) => p.headPosition },
        { label: "Lag", cell: (p) => p.lag },
        { label: "Status", cell: (p) => pill(p.status || "—", p.status || "unknown") },
        { label: "Error", cell: (p) => (p.error ? `${p.error.eventType} at ${p.error.position}: ${p.error.message} (since ${p.error.since})` : "") },
      ], rows));
    } catch (error) {
      box.replaceChildren(errorBox(error));
    }
  }

  refresh();
  // Lag changes with every write: a two-second poll while the tab is visible is enough here.
  const timer = setInterval(() => document.visibilityState === "visible" && refresh(), 2000);
  return () => clearInterval(timer);
}
