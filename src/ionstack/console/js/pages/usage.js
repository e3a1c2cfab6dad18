// The organization's billed usage (owners only): amount per day, week or month as a bar chart,
// with each period's top groups in a table.

import { api, ApiError } from "../api.js";
import { barChart } from "../chart.js";
import { facts, h, replace } from "../dom.js";
import { duration, number, usd } from "../format.js";
import { link } from "../route.js";
import { errorText } from "./parts.js";

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The first day of each period in [start, end), as the API buckets them (UTC days, ISO weeks
 * from Monday, calendar months; the first period clipped to start). */
export function periodStarts(start, end, modality) {
  const out = [];
  const last = new Date(`${end}T00:00:00Z`);
  let day = new Date(`${start}T00:00:00Z`);
  while (day < last && out.length < 4000) {
    out.push(isoDay(day));
    const next = new Date(day);
    if (modality === "daily") next.setUTCDate(day.getUTCDate() + 1);
    else if (modality === "weekly") next.setUTCDate(day.getUTCDate() + (((8 - day.getUTCDay()) % 7) || 7));
    else next.setUTCMonth(day.getUTCMonth() + 1, 1);
    day = next;
  }
  return out;
}

export async function render(main, route) {
  const today = new Date();
  const tomorrow = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1));
  const monthAgo = new Date(tomorrow.getTime() - 30 * 86400000);
  const start = route.params.get("start") ?? isoDay(monthAgo);
  const end = route.params.get("end") ?? isoDay(tomorrow);
  const modality = route.params.get("modality") ?? "daily";
  const groupBy = route.params.get("group_by") ?? "project";

  // GET /sessions names the key's organization (whoami does not, in v0.4).
  const { organization_id: organization } = await api("/sessions", { query: { active: "true" } });

  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const startInput = h("input", { id: "usage-start", type: "date", value: start, required: true });
  const endInput = h("input", { id: "usage-end", type: "date", value: end, required: true });
  const modalitySelect = h("select", { id: "usage-modality" }, ["daily", "weekly", "monthly"].map((m) => h("option", { value: m }, m)));
  modalitySelect.value = modality;
  const groupSelect = h("select", { id: "usage-group" }, ["project", "user", "job"].map((g) => h("option", { value: g }, g)));
  groupSelect.value = groupBy;
  const form = h(
    "form",
    { class: "filters", "aria-label": "Usage period" },
    field("usage-start", "From", startInput),
    field("usage-end", "To (exclusive)", endInput),
    field("usage-modality", "Per", modalitySelect),
    field("usage-group", "Top groups by", groupSelect),
    h("button", { type: "submit" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = link("usage", null, { start: startInput.value, end: endInput.value, modality: modalitySelect.value, group_by: groupSelect.value });
  });

  let report;
  try {
    report = await api(`/organizations/${encodeURIComponent(organization)}/usage`, {
      query: { start_date: start, end_date: end, modality, group_by: groupBy },
    });
  } catch (failure) {
    const text = failure instanceof ApiError && failure.status === 403
      ? "Usage is shown to the owners of the organization; this key's user is not an owner."
      : `Could not load usage: ${errorText(failure)}`;
    replace(main, h("h1", null, "Usage"), form, h("p", { class: "error", role: "alert" }, text));
    return null;
  }

  const periods = report.usage_data ?? [];
  const amounts = new Map(periods.map((p) => [p.from, p.amount]));
  const chart = periods.length
    ? barChart({
        caption: `Billed amount per ${modality === "daily" ? "day" : modality === "weekly" ? "week" : "month"} (USD)`,
        // every period of the window, oldest first; the API lists only those with usage
        items: periodStarts(report.start_date, report.end_date, modality).map((from) => ({ label: from, value: amounts.get(from) ?? 0 })),
        format: (v) => usd(v),
        labelName: "Period from",
        valueName: "Amount",
      })
    : h("p", { class: "muted" }, "No billed jobs in this period.");
  const table = periods.length
    ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "usage-table" },
          h("caption", null, `Top ${groupBy}s of each period`),
          h("thead", null, h("tr", null, ["Period from", "Amount", "Jobs", "Compute time", `Top ${groupBy}s`].map((name) => h("th", { scope: "col" }, name)))),
          h(
            "tbody",
            null,
            [...report.usage_data].map((p) =>
              h(
                "tr",
                null,
                h("th", { scope: "row" }, p.from),
                h("td", { class: "num" }, usd(p.amount)),
                h("td", { class: "num" }, number(p.job_count)),
                h("td", { class: "num" }, duration(p.time_us / 1000)),
                h("td", null, h("ul", { class: "groups" }, (p.group_usages ?? []).map((g) => h("li", null, `${g.group_name}: ${usd(g.amount)} (${number(g.job_count)} ${g.job_count === 1 ? "job" : "jobs"})`)))),
              ),
            ),
          ),
        ),
      )
    : null;
  replace(
    main,
    h("h1", null, "Usage"),
    h("p", { class: "muted" }, "Organization ", h("code", null, report.organization)),
    form,
    facts(
      [
        ["Total", usd(report.amount_total)],
        ["Jobs", number(report.job_count)],
        ["Compute time", duration(report.time_us_total / 1000)],
      ],
      { id: "usage-totals", class: "facts totals" },
    ),
    chart,
    table,
  );
  return null;
}
