// A real browser calling the proxy cross-origin: Debian's headless Chromium, driven by puppeteer-core, loads a page
// from a loopback static server (the "app", on another origin than the proxy) and fetches PROXY_URL + PATH_OK with a
// bearer token and `Accept: application/fhir+json` — a non-simple request, so Chromium sends a CORS preflight first
// and lets the page read the response only if the proxy's CORS headers allow the app's origin.
//
// Env:
//   PROXY_URL               the proxy's origin, e.g. http://127.0.0.1:8080 (required)
//   PATH_OK                 the path fetched, e.g. /Patient/123 (required)
//   TOKEN                   a bearer token the proxy accepts (required)
//   BAD_TOKEN               a bearer token the proxy rejects (required)
//   APP_PORT                the port of the app's static server on 127.0.0.1 (0 or unset: ephemeral)
//   OTHER_PORT              the port of a second static server, another origin (0 or unset: ephemeral)
//   OTHER_ORIGIN_MUST_FAIL  1: also fetch with TOKEN from the other origin, which the proxy must not allow
//   CHROMIUM                the browser binary (default /usr/bin/chromium)
//
// Prints one line of JSON on stdout and exits 0:
//   {"appOrigin", "otherOrigin": {"origin", "failed", "error", "errorName", "console"} | null,
//    "ok": PROBE, "bad": PROBE, "chromium", "puppeteerCore"}
//   PROBE = {"status", "body", "wwwAuthenticate", "requestId", "error", "preflight": {"status"} | null}
// On a failure of the harness itself (not of a probe) prints {"error": "..."} and exits 1. Everything is bounded by
// 30 seconds.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const TOTAL_MS = 30_000;
const STEP_MS = 10_000;

const here = new URL(".", import.meta.url);
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, here), "utf8")).version;

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback === undefined) throw new Error(`env ${name} is required`);
    return fallback;
  }
  return v;
}

function port(name) {
  const p = Number(env(name, "0"));
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`env ${name} is not a port: ${process.env[name]}`);
  return p;
}

// The app's page. `probe` is what the harness calls; it never throws, it reports.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>fhir-jwt-proxy CORS probe</title></head>
<body><p>CORS probe</p>
<script>
window.probe = async function (url, token) {
  try {
    const response = await fetch(url, {
      headers: { Authorization: "Bearer " + token, Accept: "application/fhir+json" },
    });
    const text = await response.text();
    let body = text;
    try { body = JSON.parse(text); } catch (_) {}
    return {
      status: response.status,
      body,
      wwwAuthenticate: response.headers.get("WWW-Authenticate"),
      requestId: response.headers.get("X-Request-Id"),
      error: null,
    };
  } catch (e) {
    return { status: null, body: null, wwwAuthenticate: null, requestId: null,
             error: String(e && e.message || e), errorName: e && e.name || null };
  }
};
</script></body></html>
`;

function serve(listenPort) {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(PAGE);
    } else if (req.url === "/favicon.ico") {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A page on `origin`, with the CORS preflights Chromium sends from it recorded (DevTools reports them as requests of
// type "Preflight").
async function openPage(browser, origin) {
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  const preflights = [];
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  const byId = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.type === "Preflight" || e.request?.method === "OPTIONS") {
      const p = { url: e.request.url, status: null };
      byId.set(e.requestId, p);
      preflights.push(p);
    }
  });
  cdp.on("Network.responseReceived", (e) => {
    const p = byId.get(e.requestId);
    if (p) p.status = e.response.status;
  });
  await page.goto(origin + "/", { waitUntil: "load", timeout: STEP_MS });
  return { page, preflights, consoleErrors };
}

async function probe(tab, url, token) {
  tab.preflights.length = 0;
  const result = await withTimeout(
    tab.page.evaluate((u, t) => window.probe(u, t), url, token),
    STEP_MS,
    `fetch ${url}`,
  );
  // DevTools events travel beside the evaluation's answer: give the preflight's response event a moment.
  if (tab.preflights.some((p) => p.status === null)) await new Promise((r) => setTimeout(r, 100));
  const pf = tab.preflights.find((p) => p.url === url) ?? null;
  return { ...result, preflight: pf && { status: pf.status } };
}

async function main() {
  const proxyUrl = env("PROXY_URL").replace(/\/+$/, "");
  const pathOk = env("PATH_OK");
  const token = env("TOKEN");
  const badToken = env("BAD_TOKEN");
  const otherMustFail = env("OTHER_ORIGIN_MUST_FAIL", "") === "1";
  const executablePath = env("CHROMIUM", "/usr/bin/chromium");
  const appPort = port("APP_PORT");
  const otherPort = port("OTHER_PORT");
  const target = proxyUrl + (pathOk.startsWith("/") ? pathOk : "/" + pathOk);

  const servers = [];
  let browser = null;
  const profile = mkdtempSync(join(tmpdir(), "fjp-chromium-"));
  emergency = () => {
    browser?.process()?.kill("SIGKILL");
    rmSync(profile, { recursive: true, force: true });
  };
  const cleanup = async () => {
    if (browser) await withTimeout(browser.close(), 5_000, "closing the browser").catch(() => browser.process()?.kill("SIGKILL"));
    await Promise.all(servers.map(close));
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const app = await serve(appPort);
    servers.push(app.server);
    const other = otherMustFail ? await serve(otherPort) : null;
    if (other) servers.push(other.server);

    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir: profile,
      timeout: STEP_MS,
      protocolTimeout: STEP_MS,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    });

    const tab = await openPage(browser, app.origin);
    const ok = await probe(tab, target, token);
    const bad = await probe(tab, target, badToken);

    let otherOrigin = null;
    if (other) {
      const otherTab = await openPage(browser, other.origin);
      const r = await probe(otherTab, target, token);
      otherOrigin = {
        origin: other.origin,
        failed: r.error !== null,
        error: r.error,
        errorName: r.errorName ?? null,
        status: r.status,
        preflight: r.preflight,
        console: otherTab.consoleErrors,
      };
    }

    const out = {
      appOrigin: app.origin,
      ok,
      bad,
      otherOrigin,
      chromium: await browser.version(),
      puppeteerCore: version("puppeteer-core"),
    };
    await cleanup();
    return out;
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
}

// On the overall deadline: kill the browser (it runs detached from this process) and remove its profile.
let emergency = () => {};
const deadline = setTimeout(() => {
  try {
    emergency();
  } catch (_) {}
  process.stdout.write(JSON.stringify({ error: `timed out after ${TOTAL_MS} ms` }) + "\n");
  process.exit(1);
}, TOTAL_MS);

main().then(
  (out) => {
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
  },
  (e) => {
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + "\n", () => process.exit(1));
  },
);
