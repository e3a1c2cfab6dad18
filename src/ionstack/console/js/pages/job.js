// One job: summary, failure, result chart, stats, cost, the submitted circuit and the compiled
// native form. Refreshes itself until the job is terminal.

import { api, ApiError } from "../api.js";
import { barChart } from "../chart.js";
import { facts, h, replace } from "../dom.js";
import { bits, duration, number, prettyJson, shortId, usd, when } from "../format.js";
import { link } from "../route.js";
import { errorText, section, statusBadge } from "./parts.js";

const TERMINAL = new Set(["completed", "failed", "canceled"]);
const REFRESH_MS = 1000;
const MAX_BARS = 32;

export async function render(main, route) {
  const id = route.id;
  let stopped = false;
  let timer = null;
  let shownStatus = null;

  async function fetchJob() {
    return api(`/jobs/${encodeURIComponent(id)}`, { query: { include: "input" } });
  }

  let job;
  try {
    job = await fetchJob();
  } catch (failure) {
    const text = failure instanceof ApiError && failure.status === 404 ? "No such job in this project." : errorText(failure);
    replace(main, h("h1", null, "Job"), h("p", { class: "error", role: "alert" }, text), h("p", null, h("a", { href: link("jobs") }, "Back to jobs")));
    return null;
  }

  async function draw(current) {
    shownStatus = current.status;
    const parts = await Promise.all([
      resultsSection(current),
      costSection(current),
      circuitSection(current),
    ]);
    if (stopped) return;
    const focused = document.activeElement?.id;
    replace(
      main,
      h("p", { class: "crumbs" }, h("a", { href: link("jobs") }, "Jobs"), " / ", h("code", null, shortId(current.id))),
      h("h1", null, current.name || `Job ${shortId(current.id)}`, " ", statusBadge(current.status)),
      actions(current),
      summary(current),
      failureSection(current),
      parts[0],
      statsSection(current),
      parts[1],
      parts[2],
    );
    if (focused) document.getElementById(focused)?.focus();
  }

  function actions(current) {
    if (TERMINAL.has(current.status)) return null;
    const cancel = h("button", { type: "button", class: "danger", id: "cancel-job" }, "Cancel job");
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await api(`/jobs/${encodeURIComponent(current.id)}/status/cancel`, { method: "PUT" });
        await refresh();
      } catch (failure) {
        cancel.disabled = false;
        cancel.after(h("p", { class: "error", role: "alert" }, errorText(failure)));
      }
    });
    return h("p", { class: "actions" }, cancel, h("span", { class: "muted" }, " This page refreshes until the job finishes."));
  }

  async function refresh() {
    if (stopped) return;
    try {
      const current = await fetchJob();
      if (current.status !== shownStatus) await draw(current);
      if (TERMINAL.has(current.status)) return;
    } catch {
      // keep the last view; try again
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  await draw(job);
  if (!TERMINAL.has(job.status)) timer = setTimeout(refresh, REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function summary(job) {
  const noise = job.noise ? [job.noise.model, job.noise.seed !== undefined && job.noise.seed !== null ? `seed ${job.noise.seed}` : null].filter(Boolean).join(", ") : null;
  const children = job.child_job_ids?.length
    ? h("ul", { class: "inline" }, job.child_job_ids.map((child) => h("li", null, h("a", { href: link("jobs", child) }, shortId(child)))))
    : null;
  return facts(
    [
      ["Job id", h("code", { id: "job-id" }, job.id)],
      ["Status", job.status],
      ["Type", job.type],
      ["Backend", job.backend],
      ["Shots", job.shots !== undefined ? number(job.shots) : null],
      ["Noise", noise],
      ["Dry run", job.dry_run ? "yes" : null],
      ["Submitted", h("time", { datetime: job.submitted_at }, when(job.submitted_at))],
      ["Started", job.started_at ? h("time", { datetime: job.started_at }, when(job.started_at)) : null],
      ["Finished", job.completed_at ? h("time", { datetime: job.completed_at }, when(job.completed_at)) : null],
      ["Run time", job.execution_duration_ms !== null ? duration(job.execution_duration_ms) : null],
      ["Predicted wait", job.predicted_wait_time_ms !== null && job.predicted_wait_time_ms !== undefined ? duration(job.predicted_wait_time_ms) : null],
      ["Predicted run time", job.predicted_execution_duration_ms ? duration(job.predicted_execution_duration_ms) : null],
      ["Session", job.session_id ? h("a", { href: link("jobs", null, { session: job.session_id }) }, shortId(job.session_id)) : null],
      ["Parent job", job.parent_job_id ? h("a", { href: link("jobs", job.parent_job_id) }, shortId(job.parent_job_id)) : null],
      ["Circuits", children],
      ["Metadata", job.metadata && Object.keys(job.metadata).length ? h("code", null, JSON.stringify(job.metadata)) : null],
    ],
    { id: "job-summary" },
  );
}

function failureSection(job) {
  if (!job.failure) return null;
  return h(
    "section",
    { id: "failure", class: "failure", "aria-labelledby": "failure-title" },
    h("h2", { id: "failure-title" }, "Failure"),
    facts([
      ["Code", h("code", null, job.failure.code ?? "—")],
      ["Message", job.failure.message ?? job.failure.error ?? "—"],
    ]),
  );
}

async function resultsSection(job) {
  if (job.status !== "completed") {
    const text = job.status === "failed" || job.status === "canceled" ? "This job has no results." : "Results appear here when the job completes.";
    return section("results", "Results", h("p", { class: "muted" }, text));
  }
  if (!job.results) return section("results", "Results", h("p", { class: "muted" }, job.dry_run ? "A dry run compiles without running: no results." : "No results."));
  const kind = job.results.histogram ? "histogram" : "probabilities";
  let data;
  try {
    data = await api(`/jobs/${encodeURIComponent(job.id)}/results/${kind}`);
  } catch (failure) {
    return section("results", "Results", h("p", { class: "error" }, errorText(failure)));
  }
  const qubits = job.stats?.qubits ?? null;
  const isParent = data && Object.values(data).some((value) => typeof value === "object" && value !== null);
  if (isParent) {
    const entries = Object.entries(data);
    return section(
      "results",
      "Results",
      h("p", { class: "muted" }, `${entries.length} circuits; probabilities of each (first 8 shown, each child job has its own page).`),
      entries.slice(0, 8).map(([child, probabilities], index) =>
        h("div", null, h("h3", null, "Circuit ", String(index + 1), " · ", h("a", { href: link("jobs", child) }, shortId(child))),
          outcomeChart(probabilities, "probabilities", null)),
      ),
    );
  }
  return section("results", "Results", outcomeChart(data, kind, qubits));
}

function outcomeChart(data, kind, qubits) {
  const entries = Object.entries(data ?? {});
  const total = entries.reduce((sum, [, value]) => sum + value, 0);
  let shown = entries;
  let note = null;
  if (entries.length > MAX_BARS) {
    shown = [...entries].sort((a, b) => b[1] - a[1]).slice(0, MAX_BARS);
    note = `(the ${MAX_BARS} most frequent of ${entries.length} outcomes)`;
  }
  shown.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
  const counts = kind === "histogram";
  const items = shown.map(([key, value]) => ({ label: bits(key, qubits), value }));
  const caption = counts
    ? `Counts of each outcome over ${number(total)} shots (bit strings read q${(qubits ?? 1) - 1}…q0)`
    : `Probability of each outcome (bit strings read q${(qubits ?? 1) - 1}…q0)`;
  if (!items.length) return h("p", { class: "muted" }, "No outcomes.");
  return barChart({
    caption,
    note,
    items,
    labelName: "Outcome",
    valueName: counts ? "Count" : "Probability",
    format: counts ? (v) => number(v) : (v) => number(v, 4),
  });
}

function statsSection(job) {
  const stats = job.stats ?? {};
  if (!Object.keys(stats).length) return null;
  return section(
    "stats",
    "Stats",
    facts([
      ["Qubits", stats.qubits !== undefined ? number(stats.qubits) : null],
      ["Circuits", stats.circuits !== undefined ? number(stats.circuits) : null],
      ["1-qubit gates", stats.gate_counts?.["1q"] !== undefined ? number(stats.gate_counts["1q"]) : null],
      ["2-qubit gates", stats.gate_counts?.["2q"] !== undefined ? number(stats.gate_counts["2q"]) : null],
      ["Predicted compute time", stats.predicted_quantum_compute_time_us !== undefined ? duration(stats.predicted_quantum_compute_time_us / 1000) : null],
      ["Billed compute time", stats.billed_quantum_compute_time_us !== undefined ? duration(stats.billed_quantum_compute_time_us / 1000) : null],
      ["Energy", stats.kwh !== undefined ? `${number(stats.kwh, 6)} kWh` : null],
    ]),
  );
}

async function costSection(job) {
  try {
    const cost = await api(`/jobs/${encodeURIComponent(job.id)}/cost`);
    return section(
      "cost",
      "Cost",
      facts([
        ["Estimated", usd(cost.estimated_cost?.value ?? null)],
        ["Charged", cost.cost ? usd(cost.cost.value) : "not yet (charged when the job finishes)"],
      ]),
    );
  } catch (failure) {
    return section("cost", "Cost", h("p", { class: "error" }, errorText(failure)));
  }
}

async function circuitSection(job) {
  const submitted = job.input
    ? h("div", null, h("h3", null, "Submitted"), h("pre", { class: "code", id: "circuit-input", tabindex: "0", "aria-label": "Submitted input, JSON" }, prettyJson(job.input)))
    : null;
  let compiled;
  const isParent = Boolean(job.child_job_ids?.length);
  const rejected = Boolean(job.failure) && !Object.keys(job.stats ?? {}).length;
  if (isParent || rejected) {
    const why = isParent ? "A multi-circuit job: each child job has its compiled circuit." : "No compiled circuit: the input was rejected.";
    return section("circuit", "Circuit", h("div", { class: "two-columns" }, submitted, h("div", null, h("h3", null, "Compiled (native gates)"), h("p", { class: "muted" }, why))));
  }
  try {
    const native = await api(`/jobs/${encodeURIComponent(job.id)}/circuits/native`);
    let text = native;
    try {
      text = prettyJson(JSON.parse(native));
    } catch {
      // already text
    }
    const qasm = h("div", { class: "qasm" });
    const qasmButton = h("button", { type: "button", class: "secondary", id: "show-qasm" }, "Show OpenQASM 3");
    qasmButton.addEventListener("click", async () => {
      qasmButton.disabled = true;
      try {
        const source = await api(`/jobs/${encodeURIComponent(job.id)}/circuits/qasm3`);
        replace(qasm, h("h3", null, "OpenQASM 3"), h("pre", { class: "code", tabindex: "0", "aria-label": "Compiled circuit, OpenQASM 3" }, source));
        qasmButton.remove();
      } catch (failure) {
        replace(qasm, h("p", { class: "error" }, errorText(failure)));
      }
    });
    compiled = h(
      "div",
      null,
      h("h3", null, "Compiled (native gates)"),
      h("pre", { class: "code", id: "circuit-native", tabindex: "0", "aria-label": "Compiled circuit, native gates, JSON" }, text),
      qasmButton,
      qasm,
    );
  } catch (failure) {
    const why = failure instanceof ApiError && failure.status === 404 ? "No compiled circuit." : errorText(failure);
    compiled = h("div", null, h("h3", null, "Compiled (native gates)"), h("p", { class: "muted" }, why));
  }
  return section("circuit", "Circuit", h("div", { class: "two-columns" }, submitted, compiled));
}
