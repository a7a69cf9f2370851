// The console's shell: login, navigation between pages (by URL hash), logout.

import { api, ApiError, h, loadEventTypes, state } from "./lib.js";
import { eventsPage } from "./events.js";
import { inferencePage } from "./inference.js";
import { projectionsPage } from "./projections.js";
import { queuePage } from "./queue.js";
import { apiPage } from "./reference.js";
import { sessionPage, sessionsPage } from "./sessions.js";

const PAGES = [
  ["sessions", "Sessions", sessionsPage],
  ["queue", "Queue", queuePage],
  ["inference", "Inference", inferencePage],
  ["events", "Event log", eventsPage],
  ["projections", "Projections", projectionsPage],
  ["api", "API", apiPage],
];

let stopPage = null;

function show(element, visible) {
  document.getElementById(element).hidden = !visible;
}

function loggedOut() {
  state.session = null;
  if (stopPage) stopPage();
  stopPage = null;
  document.getElementById("main").replaceChildren();
  show("app", false);
  show("login", true);
  document.getElementById("token").focus();
}

async function loggedIn(session) {
  state.session = session;
  state.readerId = session.principal;
  await loadEventTypes();
  document.getElementById("who").textContent = `${session.principal} · ${session.roles.join(", ")}`;
  show("login", false);
  show("app", true);
  route();
}

function route() {
  if (!state.session) return;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "sessions").split("/");
  const page = PAGES.find(([key]) => key === name) || PAGES[0];
  document.getElementById("nav").replaceChildren(
    ...PAGES.map(([key, label]) =>
      h("a", { href: `#/${key}`, class: key === page[0] ? "active" : null, "data-page": key }, label),
    ),
  );
  if (stopPage) stopPage();
  const main = document.getElementById("main");
  main.replaceChildren();
  main.dataset.page = page[0];
  const id = rest.map(decodeURIComponent).join("/");
  stopPage = page[0] === "sessions" && id ? sessionPage(main, id) : page[2](main);
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  const error = document.getElementById("login-error");
  error.hidden = true;
  try {
    const session = await api("POST", "/ui/login", { token: input.value });
    input.value = ""; // the token leaves the page as soon as it has been exchanged
    await loggedIn(session);
  } catch (failure) {
    input.value = "";
    error.textContent = failure instanceof ApiError && failure.status === 401 ? "That token is not valid." : String(failure.message);
    error.hidden = false;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/ui/logout");
  } finally {
    loggedOut();
  }
});

state.onLoggedOut = loggedOut;
window.addEventListener("hashchange", route);

api("GET", "/ui/session").then(loggedIn, loggedOut);
