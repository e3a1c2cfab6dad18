// Formatting for people: dates, durations, money, outcomes.

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

export function when(iso) {
  if (!iso) return "—";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : dateTime.format(moment);
}

/** A <time> element with the ISO value as its machine-readable datetime. */
export function timeText(iso) {
  return iso ? { text: when(iso), datetime: iso } : null;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function usd(value) {
  if (value === null || value === undefined) return "—";
  const digits = value !== 0 && Math.abs(value) < 0.01 ? 6 : 2;
  return new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: digits,
  }).format(value);
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(value);
}

export function percent(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return `${(value * 100).toFixed(digits)} %`;
}

/**
 * An outcome key (decimal, little-endian: qubit 0 is the least significant bit) as a bit
 * string written q(n-1)…q0, so qubit 0 is the rightmost character.
 */
export function bits(key, qubits) {
  const value = BigInt(key);
  const text = value.toString(2);
  return qubits ? text.padStart(qubits, "0") : text;
}

export function shortId(id) {
  return id ? id.slice(0, 8) : "";
}

function flatJson(value) {
  if (Array.isArray(value)) return `[${value.map(flatJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${flatJson(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

/** JSON for reading: anything that fits on a line stays on one line (a gate per line). */
export function prettyJson(value, indent = "") {
  const flat = flatJson(value);
  if (value === null || typeof value !== "object" || flat.length + indent.length <= 60) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(",\n")}\n${indent}]`;
  }
  const lines = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}
