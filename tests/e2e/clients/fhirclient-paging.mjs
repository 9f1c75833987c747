// The SMART JS client (`fhirclient`, its Node build) reading every page of a search through the proxy: it requests
// QUERY with the bearer token and follows each searchset Bundle's `next` link exactly as the library does (verbatim,
// token attached, wherever it points), so whatever the proxy writes into `link[next]` is what this client calls.
//
// Every HTTP request this process makes is recorded from Node's diagnostics channels — node:http (fhirclient's
// cross-fetch → node-fetch) and undici (the global fetch) — without patching the library, and every TCP connection it
// opens, so the caller can check the client never left PROXY_URL.
//
// Env:
//   PROXY_URL  the FHIR base as the client sees it, e.g. http://127.0.0.1:8080 (required)
//   TOKEN      a bearer token the proxy accepts (required)
//   QUERY      the search, relative to PROXY_URL, e.g. Observation?_count=2 (required)
//
// Prints one line of JSON on stdout and exits 0:
//   {"ids": ["Observation/a", ...], "pages": N, "urls": [...], "statuses": [...], "connections": ["127.0.0.1:PORT"],
//    "fhirclient": "2.6.3"}
// On failure (an HTTP error from the proxy included) prints {"error", "status", "urls", "statuses", "connections"} and
// exits 1. Bounded by 30 seconds.

import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import smart from "fhirclient";

const TOTAL_MS = 30_000;

const here = new URL(".", import.meta.url);
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, here), "utf8")).version;

// What this process sent, in order.
const urls = [];
const statuses = [];
const connections = [];

const requestIndex = new WeakMap();
diagnostics.subscribe("http.client.request.start", ({ request }) => {
  const proto = request.protocol || "http:";
  const host = request.getHeader("host") || request.host;
  requestIndex.set(request, urls.length);
  urls.push(`${proto}//${host}${request.path}`);
  statuses.push(null);
});
diagnostics.subscribe("http.client.response.finish", ({ request, response }) => {
  const i = requestIndex.get(request);
  if (i !== undefined) statuses[i] = response.statusCode;
});
diagnostics.subscribe("undici:request:create", ({ request }) => {
  urls.push(`${request.origin}${request.path}`);
  statuses.push(null);
});
diagnostics.subscribe("net.client.socket", ({ socket }) => {
  socket.once("connect", () => connections.push(`${socket.remoteAddress}:${socket.remotePort}`));
});

function env(name) {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`env ${name} is required`);
  return v;
}

async function main() {
  const serverUrl = env("PROXY_URL");
  const token = env("TOKEN");
  const query = env("QUERY");

  // fhirclient's documented Node API is `smart(request, response[, storage])` (an http.IncomingMessage /
  // ServerResponse pair, for its launch and redirect flows) returning {authorize, ready, init, client};
  // `client(state)` builds a client from a state without any launch. Without a storage it keeps its state in
  // `request.session` (express-session style), which it clears on a 401: an empty session object serves.
  const client = smart({ session: {} }, {}).client({
    serverUrl,
    tokenResponse: { access_token: token, token_type: "bearer" },
  });
  const resources = await client.request(query, { pageLimit: 0, flat: true });
  const list = Array.isArray(resources) ? resources : [resources];
  return {
    ids: list.filter(Boolean).map((r) => `${r.resourceType}/${r.id}`),
    pages: urls.length,
    urls,
    statuses,
    connections,
    fhirclient: version("fhirclient"),
  };
}

const deadline = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `timed out after ${TOTAL_MS} ms`, urls, statuses, connections }) + "\n");
  process.exit(1);
}, TOTAL_MS);

main().then(
  (out) => {
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
  },
  (e) => {
    clearTimeout(deadline);
    const error = { error: String((e && e.message) || e), status: e?.status ?? null, urls, statuses, connections };
    process.stdout.write(JSON.stringify(error) + "\n", () => process.exit(1));
  },
);
