// Small pieces shared by the pages.

import { h } from "../dom.js";

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

export function errorText(failure) {
  return failure?.message ?? String(failure);
}

/** A section with a heading (h2) whose id labels it. */
export function section(id, title, ...children) {
  return h("section", { id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...children);
}
