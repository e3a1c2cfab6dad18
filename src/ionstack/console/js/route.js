// Hash routes: #/NAME[/ID][?params].

/** The current route: {name, id, params} from location.hash. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] ?? "", id: parts[1] ?? null, params: new URLSearchParams(query) };
}

/** Build a hash link: link("jobs", null, {status: "failed"}) → "#/jobs?status=failed". */
export function link(name, id = null, params = null) {
  let out = `#/${name}`;
  if (id) out += `/${encodeURIComponent(id)}`;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return text ? `${out}?${text}` : out;
}
