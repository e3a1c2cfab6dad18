// Backends: status, qubits, queue time, and each one's latest characterization (fidelities,
// timing, connectivity), with the fidelity history of the last days.

import { api } from "../api.js";
import { facts, h, replace, s } from "../dom.js";
import { duration, number, percent, when } from "../format.js";
import { errorText, section } from "./parts.js";

export async function render(main) {
  const backends = await api("/backends");
  const table = h(
    "table",
    { id: "backends-table" },
    h("caption", { class: "visually-hidden" }, "Backends"),
    h("thead", null, h("tr", null, ["Backend", "Status", "Qubits", "Average queue", "Native gates", "Noise models", "Updated"].map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      null,
      backends.map((b) =>
        h(
          "tr",
          { dataset: { backend: b.backend } },
          h("th", { scope: "row" }, b.characterization_id ? h("a", { href: `#backend-${cssId(b.backend)}` }, b.backend) : b.backend),
          h("td", null, h("span", { class: `badge backend-${b.status}` }, b.status), b.degraded ? h("span", { class: "badge degraded" }, "degraded") : null),
          h("td", { class: "num" }, number(b.qubits)),
          h("td", { class: "num" }, duration(b.average_queue_time)),
          h("td", null, (b.supported_native_gates ?? []).join(", ")),
          h("td", null, (b.noise_models ?? []).join(", ") || "—"),
          h("td", null, h("time", { datetime: b.last_updated }, when(b.last_updated))),
        ),
      ),
    ),
  );
  const cards = h("div", { class: "cards" });
  replace(main, h("h1", null, "Backends"), h("div", { class: "table-wrap" }, table), h("h2", null, "Characterizations"), cards);
  const withData = backends.filter((b) => b.characterization_id);
  if (!withData.length) cards.append(h("p", { class: "muted" }, "No backend has a characterization."));
  const rendered = await Promise.all(withData.map((b) => characterizationCard(b)));
  cards.append(...rendered);
  return null;
}

function cssId(name) {
  return name.replace(/[^A-Za-z0-9_-]/g, "-");
}

async function characterizationCard(backend) {
  const id = `backend-${cssId(backend.backend)}`;
  let page;
  try {
    page = await api(`/backends/${encodeURIComponent(backend.backend)}/characterizations`, { query: { limit: 10 } });
  } catch (failure) {
    return section(id, backend.backend, h("p", { class: "error" }, errorText(failure)));
  }
  const history = page.characterizations ?? [];
  const latest = history[0];
  if (!latest) return section(id, backend.backend, h("p", { class: "muted" }, "No characterization."));
  const fidelity = latest.fidelity ?? {};
  const timing = latest.timing ?? {};
  const card = section(
    id,
    backend.backend,
    h("p", { class: "muted" }, "Characterized ", h("time", { datetime: latest.date }, when(latest.date).split(",").slice(0, 2).join(",")), `, ${latest.qubits} qubits`),
    facts(
      [
        ["1-qubit gate fidelity", percent(fidelity["1q"]?.median, 3)],
        ["2-qubit gate fidelity", percent(fidelity["2q"]?.median, 3)],
        ["SPAM fidelity", percent(fidelity.spam?.median, 3)],
        ["1-qubit gate time", timing["1q"] !== undefined ? `${number(timing["1q"] * 1e6, 1)} µs` : null],
        ["2-qubit gate time", timing["2q"] !== undefined ? `${number(timing["2q"] * 1e6, 1)} µs` : null],
        ["Readout time", timing.readout !== undefined ? `${number(timing.readout * 1e6, 1)} µs` : null],
        ["Reset time", timing.reset !== undefined ? `${number(timing.reset * 1e6, 1)} µs` : null],
        ["T1", timing.t1 !== undefined ? `${number(timing.t1, 2)} s` : null],
        ["T2", timing.t2 !== undefined ? `${number(timing.t2, 2)} s` : null],
      ],
      { class: "facts compact" },
    ),
    connectivity(latest),
    history.length > 1 ? trend(history) : null,
  );
  card.classList.add("card");
  card.dataset.backend = backend.backend;
  return card;
}

function connectivity(characterization) {
  const pairs = characterization.connectivity ?? [];
  const n = characterization.qubits;
  const complete = pairs.length === (n * (n - 1)) / 2;
  const summary = complete
    ? `All-to-all: each of the ${n} qubits couples to every other (${number(pairs.length)} pairs).`
    : `${number(pairs.length)} coupled pairs among ${n} qubits.`;
  const size = 180;
  const cell = size / Math.max(1, n);
  const grid = s("svg", { viewBox: `0 0 ${size} ${size}`, class: "connectivity", role: "img", "aria-label": `Connectivity matrix: ${summary}` });
  grid.append(s("rect", { x: 0, y: 0, width: size, height: size, class: "matrix-bg" }));
  for (const [a, b] of pairs) {
    grid.append(s("rect", { x: a * cell, y: b * cell, width: cell, height: cell, class: "pair" }));
    grid.append(s("rect", { x: b * cell, y: a * cell, width: cell, height: cell, class: "pair" }));
  }
  return h(
    "div",
    { class: "connectivity-block" },
    h("h3", null, "Connectivity"),
    h("p", { class: "connectivity-summary" }, summary),
    grid,
    h("details", null, h("summary", null, "Coupled pairs"), h("p", { class: "pairs" }, pairs.map(([a, b]) => `${a}–${b}`).join(", "))),
  );
}

function trend(history) {
  // Newest first from the API; drawn oldest → newest.
  const points = [...history].reverse();
  const rows = points.map((c) =>
    h("tr", null, h("th", { scope: "row" }, h("time", { datetime: c.date }, c.date.slice(0, 10))),
      h("td", { class: "num" }, percent(c.fidelity?.["1q"]?.median, 3)),
      h("td", { class: "num" }, percent(c.fidelity?.["2q"]?.median, 3)),
      h("td", { class: "num" }, percent(c.fidelity?.spam?.median, 3))),
  );
  return h(
    "details",
    { class: "history" },
    h("summary", null, `Fidelity over the last ${points.length} characterizations`),
    h("table", null,
      h("thead", null, h("tr", null, ["Day", "1q", "2q", "SPAM"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", null, rows)),
  );
}
