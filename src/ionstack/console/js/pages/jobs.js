// The jobs list: status filter, search (name or id prefix), live refresh and server-side
// pagination with the API's `next` cursor (25 a page, so 10,000 jobs cost one page each time).

import { api } from "../api.js";
import { announce, h, replace } from "../dom.js";
import { duration, number, shortId, when } from "../format.js";
import { link } from "../route.js";
import { statusBadge } from "./parts.js";

export const STATUSES = ["submitted", "ready", "started", "completed", "failed", "canceled"];
const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

// Kept across visits so "back" from a job returns to the same page of the same filter.
const memory = { filter: null, cursors: [null], index: 0, live: true };

export async function render(main, route) {
  const status = route.params.get("status") ?? "";
  const search = route.params.get("q") ?? "";
  const session = route.params.get("session") ?? "";
  const filter = JSON.stringify([status, search, session]);
  if (memory.filter !== filter) Object.assign(memory, { filter, cursors: [null], index: 0 });

  const statusSelect = h(
    "select",
    { id: "status-filter", name: "status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((name) => h("option", { value: name }, name)),
  );
  statusSelect.value = status;
  const searchInput = h("input", {
    id: "job-search",
    name: "q",
    type: "search",
    value: search,
    placeholder: "Name or job id",
    autocomplete: "off",
  });
  const liveBox = h("input", { id: "live-refresh", type: "checkbox" });
  liveBox.checked = memory.live;
  const go = (changes) => {
    location.hash = link("jobs", null, { status, q: search, session, ...changes });
  };
  statusSelect.addEventListener("change", () => go({ status: statusSelect.value }));
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    h("div", { class: "field" }, h("label", { for: "status-filter" }, "Status"), statusSelect),
    h("div", { class: "field grow" }, h("label", { for: "job-search" }, "Search"), searchInput),
    h("button", { type: "submit" }, "Search"),
    h("div", { class: "field check" }, liveBox, h("label", { for: "live-refresh" }, "Live refresh")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ q: searchInput.value.trim() });
  });
  liveBox.addEventListener("change", () => {
    memory.live = liveBox.checked;
    announce(liveBox.checked ? "Live refresh on" : "Live refresh off");
  });

  const chips = [];
  if (session) {
    chips.push(
      h("p", { class: "chip" }, "Session ", h("code", null, shortId(session)), " ",
        h("a", { href: link("jobs", null, { status, q: search }) }, "show all jobs")),
    );
  }

  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "jobs", id: "jobs-table" },
    h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Job", "Status", "Backend", "Shots", "Submitted", "Run time"].map((name) =>
          h("th", { scope: "col", class: name === "Shots" || name === "Run time" ? "num" : null }, name),
        ),
      ),
    ),
    tbody,
  );
  const newer = h("button", { type: "button", class: "secondary", id: "page-newer" }, "← Newer");
  const older = h("button", { type: "button", class: "secondary", id: "page-older" }, "Older →");
  const pageLabel = h("span", { class: "page-label", "aria-live": "polite" });
  const updated = h("p", { class: "updated muted", id: "jobs-updated" });
  const error = h("p", { class: "error", role: "alert" });
  error.hidden = true;

  let next = null;
  let timer = null;
  let stopped = false;

  async function load({ quiet = false } = {}) {
    const query = {
      limit: PAGE_SIZE,
      status: status || null,
      search: search || null,
      session_id: session || null,
      next: memory.cursors[memory.index],
    };
    try {
      const page = await api("/jobs", { query });
      if (stopped) return;
      next = page.next;
      showRows(page.jobs);
      error.hidden = true;
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (!quiet) announce(`${page.jobs.length} jobs shown`);
    } catch (failure) {
      if (stopped) return;
      error.textContent = `Could not load jobs: ${failure.message}`;
      error.hidden = false;
    }
    newer.disabled = memory.index === 0;
    older.disabled = !next;
    pageLabel.textContent = `Page ${memory.index + 1}`;
  }

  function showRows(jobs) {
    const focusedId = document.activeElement?.closest?.("tr")?.dataset.jobId;
    if (!jobs.length) {
      replace(tbody, h("tr", null, h("td", { colspan: 6, class: "empty" }, emptyText(status, search, session))));
      return;
    }
    replace(
      tbody,
      jobs.map((job) =>
        h(
          "tr",
          { dataset: { jobId: job.id, status: job.status } },
          h(
            "td",
            null,
            h("a", { href: link("jobs", job.id), class: "job-link" }, job.name || shortId(job.id)),
            job.name ? h("span", { class: "muted id" }, ` ${shortId(job.id)}`) : null,
          ),
          h("td", null, statusBadge(job.status)),
          h("td", null, job.backend),
          h("td", { class: "num" }, number(job.shots ?? null)),
          h("td", null, h("time", { datetime: job.submitted_at }, when(job.submitted_at))),
          h("td", { class: "num" }, duration(job.execution_duration_ms)),
        ),
      ),
    );
    if (focusedId) tbody.querySelector(`tr[data-job-id="${CSS.escape(focusedId)}"] a`)?.focus();
  }

  newer.addEventListener("click", () => {
    if (memory.index > 0) memory.index -= 1;
    load();
  });
  older.addEventListener("click", () => {
    if (!next) return;
    memory.cursors = memory.cursors.slice(0, memory.index + 1).concat([next]);
    memory.index += 1;
    load();
  });

  replace(
    main,
    h("h1", null, "Jobs"),
    form,
    chips,
    error,
    h("div", { class: "table-wrap" }, table),
    h("nav", { class: "pager", "aria-label": "Pages of jobs" }, newer, pageLabel, older),
    updated,
  );
  await load({ quiet: true });

  const tick = () => {
    timer = setTimeout(async () => {
      if (memory.live && document.visibilityState === "visible") await load({ quiet: true });
      if (!stopped) tick();
    }, REFRESH_MS);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function emptyText(status, search, session) {
  if (status || search || session) return "No jobs match these filters.";
  return "No jobs yet. Submit one with POST /v0.4/jobs or an IonQ client.";
}
