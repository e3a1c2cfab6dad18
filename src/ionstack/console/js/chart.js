// Bar charts drawn as inline SVG (no library), each with a data table for screen readers.

import { h, s } from "./dom.js";

function niceStep(max, ticks) {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (raw <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}

/**
 * A vertical bar chart.
 * items: [{label, value}], format: value → text, caption: what it shows (also its name).
 * Returns <figure class="chart"> with the SVG, the caption and a <details> data table.
 */
export function barChart({ caption, items, format = String, valueName = "value", labelName = "label", note }) {
  const width = 760;
  const rotate = items.length > 12 || items.some((i) => String(i.label).length > 6);
  const height = 300;
  const margin = { left: 64, right: 12, top: 14, bottom: rotate ? 84 : 36 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const top = Math.max(0, ...items.map((i) => i.value));
  const step = top > 0 ? niceStep(top, 4) : 1;
  const yMax = top > 0 ? Math.ceil(top / step) * step : 1;
  const y = (value) => margin.top + plotH - (value / yMax) * plotH;
  const band = items.length ? plotW / items.length : plotW;
  const barW = Math.max(1, Math.min(64, band * 0.72));
  const labelEvery = Math.max(1, Math.ceil(items.length / 40));

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg",
    role: "img",
    "aria-label": caption,
    focusable: "false",
  });
  for (let tick = 0; tick <= yMax + step / 2; tick += step) {
    const ty = y(tick);
    svg.append(
      s("line", { x1: margin.left, x2: width - margin.right, y1: ty, y2: ty, class: "grid" }),
      s("text", { x: margin.left - 8, y: ty + 4, class: "axis y" }, format(tick)),
    );
  }
  items.forEach((item, index) => {
    const cx = margin.left + band * index + band / 2;
    const barTop = y(item.value);
    const bar = s(
      "rect",
      {
        x: cx - barW / 2,
        y: barTop,
        width: barW,
        height: Math.max(0, margin.top + plotH - barTop),
        class: "bar",
        "data-label": item.label,
      },
      s("title", null, `${item.label}: ${format(item.value)}`),
    );
    svg.append(bar);
    if (items.length <= 16) {
      svg.append(s("text", { x: cx, y: barTop - 5, class: "value" }, format(item.value)));
    }
    if (index % labelEvery !== 0) return; // thin the labels of long series (the bars stay)
    const labelY = margin.top + plotH + 16;
    svg.append(
      rotate
        ? s(
            "text",
            { x: cx, y: labelY, class: "axis x rotated", transform: `rotate(-55 ${cx} ${labelY})` },
            item.label,
          )
        : s("text", { x: cx, y: labelY, class: "axis x" }, item.label),
    );
  });
  svg.append(
    s("line", {
      x1: margin.left,
      x2: width - margin.right,
      y1: margin.top + plotH,
      y2: margin.top + plotH,
      class: "baseline",
    }),
  );

  const table = h(
    "table",
    { class: "data" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, labelName), h("th", { scope: "col" }, valueName))),
    h(
      "tbody",
      null,
      items.map((item) =>
        h("tr", null, h("th", { scope: "row" }, h("code", null, item.label)), h("td", { class: "num" }, format(item.value))),
      ),
    ),
  );
  return h(
    "figure",
    { class: "chart" },
    svg,
    h("figcaption", null, caption, note ? h("span", { class: "note" }, ` ${note}`) : null),
    h("details", null, h("summary", null, "Data table"), table),
  );
}
