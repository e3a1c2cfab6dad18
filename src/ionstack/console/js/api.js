// The /v0.4 API with the signed-in key. The key lives in sessionStorage only: it is sent in the
// Authorization header, never in a URL, and is gone when the browser tab is closed.

const STORAGE_KEY = "ionstack.apiKey";
const NAME_KEY = "ionstack.keyName";

export const auth = {
  get key() {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  get name() {
    return sessionStorage.getItem(NAME_KEY) ?? "";
  },
  signIn(key, name) {
    sessionStorage.setItem(STORAGE_KEY, key);
    sessionStorage.setItem(NAME_KEY, name);
  },
  signOut() {
    sessionStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(NAME_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Listeners told when the API refuses the key (401): the app signs out. */
const unauthorized = new Set();
export function onUnauthorized(listener) {
  unauthorized.add(listener);
}

/** The API's base URL, relative to the console (served at /console/). */
export function apiUrl(path, query) {
  const url = new URL(`../v0.4${path}`, document.baseURI);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === null || value === undefined || value === "") continue;
    url.searchParams.set(name, String(value));
  }
  return url;
}

/**
 * Call the API; resolves to the parsed JSON body, rejects with ApiError.
 * options: {method, query, body, key (overrides the stored one), signal}
 */
export async function api(path, options = {}) {
  const key = options.key ?? auth.key;
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `apiKey ${key}`;
  let body;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(apiUrl(path, options.query), {
    method: options.method ?? "GET",
    headers,
    body,
    signal: options.signal,
    credentials: "omit",
    cache: "no-store",
  });
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && options.key === undefined) {
      for (const listener of unauthorized) listener();
    }
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}
