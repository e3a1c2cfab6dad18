// The console's shell: sign-in, navigation and hash routing (#/jobs, #/jobs/ID, #/backends,
// #/sessions, #/usage). Each page is a module exporting render(main, route) that may return a
// cleanup function (stopping its timers) called when the page is left.

import { auth, onUnauthorized } from "./api.js";
import { h, replace } from "./dom.js";
import * as backendsPage from "./pages/backends.js";
import * as jobPage from "./pages/job.js";
import * as jobsPage from "./pages/jobs.js";
import { currentRoute } from "./route.js";
import * as sessionsPage from "./pages/sessions.js";
import * as signinPage from "./pages/signin.js";
import * as usagePage from "./pages/usage.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
let cleanup = null;
let signInMessage = "";

const PAGES = {
  jobs: (route) => (route.id ? jobPage : jobsPage),
  backends: () => backendsPage,
  sessions: () => sessionsPage,
  usage: () => usagePage,
};

const TITLES = { jobs: "Jobs", backends: "Backends", sessions: "Sessions", usage: "Usage", signin: "Sign in" };

function showShell(signedIn) {
  nav.hidden = !signedIn;
  who.hidden = !signedIn;
  document.getElementById("who-name").textContent = signedIn ? `Key: ${auth.name}` : "";
}

// Each render draws into a fresh view element; a page still loading when another render starts
// (a click, a 401) keeps drawing into its detached view, unseen, and its timers are stopped.
let generation = 0;

async function render() {
  const mine = ++generation;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const route = currentRoute();
  const view = h("div", { class: "view" });
  replace(main, view);
  if (!auth.key) {
    showShell(false);
    document.title = "Sign in · ionstack console";
    const message = signInMessage;
    signInMessage = "";
    const onSignedIn = () => {
      if (PAGES[route.name]) render().then(() => main.focus());
      else location.hash = "#/jobs"; // hashchange renders
    };
    cleanup = signinPage.render(view, { message, onSignedIn });
    return;
  }
  showShell(true);
  const choose = PAGES[route.name];
  if (!choose) {
    location.replace("#/jobs");
    return;
  }
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.route === route.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${TITLES[route.name] ?? "ionstack"} · ionstack console`;
  replace(view, h("p", { class: "loading" }, "Loading…"));
  let stop = null;
  try {
    stop = (await choose(route).render(view, route)) ?? null;
  } catch (error) {
    if (mine === generation) {
      replace(view, h("h1", null, "Something went wrong"), h("p", { class: "error", role: "alert" }, String(error.message ?? error)));
    }
  }
  if (mine === generation) cleanup = stop;
  else if (stop) stop();
}

let lastPath = null;
window.addEventListener("hashchange", () => {
  const path = location.hash.split("?")[0];
  const moved = path !== lastPath;
  lastPath = path;
  render().then(() => {
    // move focus to the new page's content (as a page load would), not on the sign-in form
    if (moved && auth.key) main.focus();
  });
});

// The skip link moves focus without touching the hash (which holds the route).
document.querySelector("a.skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

document.getElementById("signout").addEventListener("click", () => {
  auth.signOut();
  location.hash = "#/jobs";
  render();
});

onUnauthorized(() => {
  auth.signOut();
  signInMessage = "The server refused the key (revoked or unknown). Sign in again.";
  render();
});

if (!location.hash) history.replaceState(null, "", "#/jobs");
lastPath = location.hash.split("?")[0];
render();
