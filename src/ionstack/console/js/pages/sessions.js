// Sessions of the key's project: status, backend, limits, their jobs, and ending one.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { shortId, usd, when } from "../format.js";
import { link } from "../route.js";
import { errorText } from "./parts.js";

export async function render(main, route) {
  const activeOnly = route.params.get("active") === "true";
  const body = await api("/sessions", { query: { active: activeOnly ? "true" : null } });
  const sessions = body.sessions ?? [];
  const toggle = h("input", { type: "checkbox", id: "active-only" });
  toggle.checked = activeOnly;
  toggle.addEventListener("change", () => {
    location.hash = link("sessions", null, { active: toggle.checked ? "true" : null });
  });
  const error = h("p", { class: "error", role: "alert" });
  error.hidden = true;
  const rows = sessions.map((item) => {
    let end = null;
    if (item.active) {
      end = h("button", { type: "button", class: "secondary small" }, "End");
      end.setAttribute("aria-label", `End session ${shortId(item.id)}`);
      end.addEventListener("click", async () => {
        end.disabled = true;
        try {
          await api(`/sessions/${encodeURIComponent(item.id)}/end`, { method: "POST" });
          await render(main, route);
        } catch (failure) {
          error.textContent = errorText(failure);
          error.hidden = false;
          end.disabled = false;
        }
      });
    }
    return h(
      "tr",
      { dataset: { sessionId: item.id } },
      h("td", null, h("code", null, shortId(item.id))),
      h("td", null, h("span", { class: `badge session-${item.status}` }, item.status)),
      h("td", null, item.backend),
      h("td", null, limits(item.settings ?? {})),
      h("td", null, h("time", { datetime: item.created_at }, when(item.created_at))),
      h("td", null, item.ended_at ? h("time", { datetime: item.ended_at }, when(item.ended_at)) : "—"),
      h("td", null, h("a", { href: link("jobs", null, { session: item.id }) }, "Jobs"), " ", end),
    );
  });
  replace(
    main,
    h("h1", null, "Sessions"),
    h("div", { class: "filters" }, h("div", { class: "field check" }, toggle, h("label", { for: "active-only" }, "Active only"))),
    error,
    sessions.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { id: "sessions-table" },
            h("caption", { class: "visually-hidden" }, "Sessions, newest first"),
            h("thead", null, h("tr", null, ["Session", "Status", "Backend", "Limits", "Created", "Ended", "Actions"].map((name) => h("th", { scope: "col" }, name)))),
            h("tbody", null, rows),
          ),
        )
      : h("p", { class: "muted" }, "No sessions. Open one with POST /v0.4/sessions."),
  );
  return null;
}

function limits(settings) {
  const out = [];
  if (settings.job_count_limit !== undefined) out.push(`${settings.job_count_limit} jobs`);
  if (settings.cost_limit) out.push(usd(settings.cost_limit.value));
  if (settings.duration_limit_min !== undefined) out.push(`${settings.duration_limit_min} min`);
  return out.length ? out.join(" · ") : "none";
}
