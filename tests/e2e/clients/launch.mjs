// A real SMART App Launch (standalone, authorization code with PKCE) in a real browser: Debian's headless Chromium,
// driven by puppeteer-core, opens a tiny SMART app served from 127.0.0.1:APP_PORT. The app is fhirclient's browser
// build: its launch page calls FHIR.oauth2.authorize({iss: PROXY_URL, ...}), so fhirclient discovers the authorization
// and token endpoints from PROXY_URL/.well-known/smart-configuration and redirects to the identity provider. The
// harness types LOGIN into the provider's login form (oidc-provider's devInteractions: any login name, any password),
// then continues or aborts at its consent screen. The callback page calls FHIR.oauth2.ready() (fhirclient exchanges
// the code, with the PKCE verifier, at the token endpoint, from the browser) and reads, through PROXY_URL with the
// access token: Patient/LOGIN, every page of Observation?patient=LOGIN, and (with OTHER_PATIENT) Patient/OTHER_PATIENT,
// which must fail.
//
// Env:
//   PROXY_URL      the FHIR base the app is given as `iss`, e.g. http://127.0.0.1:8080 (required)
//   APP_PORT       the app's port on 127.0.0.1 (required: it is part of the redirect URI registered at the provider,
//                  http://127.0.0.1:APP_PORT/app/callback.html)
//   CLIENT_ID      e.g. smart-app (public) or smart-app-confidential (required)
//   CLIENT_SECRET  the client secret of a confidential client (fhirclient then authenticates with client_secret_basic)
//   SCOPE          the scopes requested (default "openid fhirUser launch/patient patient/*.read")
//   LOGIN          the login name typed at the provider's login form: the patient id (required)
//   CONSENT        allow (click Continue) or deny (click Cancel, the provider's abort) (default allow)
//   OTHER_PATIENT  an id the app then tries to read as Patient/OTHER_PATIENT; its HTTP status is reported
//   CHROMIUM       the browser binary (default /usr/bin/chromium)
//
// Prints one line of JSON on stdout and exits 0:
//   {"patient": resource | null, "observations": [ids], "other": {"status", "message"} | null,
//    "error": null | "access_denied: End-User aborted interaction" (what the app's ready()/requests threw),
//    "tokenScopes": scope of the token response, "tokenPatient": patient of the token response, "fhirUser",
//    "requests": [{"method", "url", "type", "authorization", "status"}], "appOrigin", "redirectUri", "timings",
//    "fhirclient", "chromium"}
// A failure of the harness itself (a page that never came, a timeout) prints {"error": "...", "stage", "url",
// "requests"} and exits 1. Everything is bounded by 60 seconds.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const TOTAL_MS = 60_000;
const STEP_MS = 15_000;

const here = new URL(".", import.meta.url);
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, here), "utf8")).version;
const FHIR_CLIENT_JS = new URL("node_modules/fhirclient/build/fhir-client.js", here);

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback === undefined) throw new Error(`env ${name} is required`);
    return fallback;
  }
  return v;
}

// `<` escaped so that no value can close the inline <script>.
const inline = (v) => JSON.stringify(v).replace(/</g, "\\u003c");

function launchPage(config) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>SMART app: launch</title></head>
<body><p>Launching…</p>
<script src="/node_modules/fhirclient/build/fhir-client.js"></script>
<script>
const CONFIG = ${inline(config)};
FHIR.oauth2.authorize({
  iss: CONFIG.iss,
  clientId: CONFIG.clientId,
  ...(CONFIG.clientSecret ? { clientSecret: CONFIG.clientSecret } : {}),
  scope: CONFIG.scope,
  redirectUri: "callback.html",
  pkceMode: "required",
}).catch((e) => { window.__error = String(e && e.message || e); });
</script></body></html>
`;
}

function callbackPage(config) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>SMART app: callback</title></head>
<body><p>Callback…</p>
<script src="/node_modules/fhirclient/build/fhir-client.js"></script>
<script>
const CONFIG = ${inline(config)};
(async () => {
  const client = await FHIR.oauth2.ready();
  const token = client.state.tokenResponse || {};
  const result = {
    tokenScopes: token.scope ?? null,
    tokenPatient: token.patient ?? null,
    fhirUser: client.getFhirUser() ?? null,
    patient: null, observations: [], other: null, error: null,
  };
  try {
    result.patient = await client.request("Patient/" + encodeURIComponent(CONFIG.login));
    const obs = await client.request("Observation?patient=" + encodeURIComponent(CONFIG.login),
      { flat: true, pageLimit: 0 });
    result.observations = obs.map((o) => o && o.id);
  } catch (e) {
    result.error = String(e && e.message || e);
    result.errorStatus = e && (e.status ?? e.statusCode) || null;
  }
  if (CONFIG.otherPatient) {
    try {
      const r = await client.request("Patient/" + encodeURIComponent(CONFIG.otherPatient));
      result.other = { status: 200, message: null, resource: r };
    } catch (e) {
      result.other = { status: e && (e.status ?? e.statusCode) || null, message: String(e && e.message || e) };
    }
  }
  window.__result = result;
})().catch((e) => { window.__error = String(e && e.message || e); });
</script></body></html>
`;
}

function serve(listenPort, config) {
  const pages = { "/app/launch.html": launchPage(config), "/app/callback.html": callbackPage(config) };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (req.method === "GET" && pages[path]) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(pages[path]);
    } else if (req.method === "GET" && path === "/node_modules/fhirclient/build/fhir-client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      res.end(readFileSync(FHIR_CLIENT_JS));
    } else if (path === "/favicon.ico") {
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

// oidc-provider's error page (e.g. a redirect_uri not registered: the IdP was started without this APP_PORT's
// --launch-redirect): fail at once with its text rather than wait for a form that never comes.
async function providerError(page) {
  const text = await page.evaluate(() =>
    /oops! something went wrong/.test(document.title) || document.querySelector("h1")?.textContent === "oops! something went wrong"
      ? document.body.innerText : null);
  if (text) throw Object.assign(new Error(`the identity provider answered with an error page: ${text.replace(/\s+/g, " ").trim()}`), { fatal: true });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll `probe` (which may throw while a navigation replaces the page's document) until it returns a truthy value.
async function until(what, probe, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      if (e?.fatal) throw Object.assign(e, { stage: what });
      // the execution context went away with a navigation: try again in the next document
    }
    if (Date.now() > end) throw Object.assign(new Error(`timed out after ${ms} ms waiting for ${what}`), { stage: what });
    await sleep(100);
  }
}

async function main() {
  const started = Date.now();
  const timings = {};
  const mark = (name) => { timings[name] = Date.now() - started; };

  const proxyUrl = env("PROXY_URL").replace(/\/+$/, "");
  const appPort = Number(env("APP_PORT"));
  if (!Number.isInteger(appPort) || appPort <= 0 || appPort > 65535) throw new Error(`env APP_PORT is not a port: ${process.env.APP_PORT}`);
  const clientId = env("CLIENT_ID");
  const clientSecret = env("CLIENT_SECRET", "");
  const scope = env("SCOPE", "openid fhirUser launch/patient patient/*.read");
  const login = env("LOGIN");
  const consent = env("CONSENT", "allow");
  if (consent !== "allow" && consent !== "deny") throw new Error(`env CONSENT must be allow or deny, not ${consent}`);
  const otherPatient = env("OTHER_PATIENT", "");
  const executablePath = env("CHROMIUM", "/usr/bin/chromium");

  const config = { iss: proxyUrl, clientId, clientSecret: clientSecret || null, scope, login, otherPatient: otherPatient || null };

  let server = null;
  let browser = null;
  const requests = [];
  const profile = mkdtempSync(join(tmpdir(), "fjp-chromium-"));
  emergency = () => {
    browser?.process()?.kill("SIGKILL");
    rmSync(profile, { recursive: true, force: true });
  };
  const cleanup = async () => {
    if (browser) {
      await Promise.race([browser.close(), sleep(5_000).then(() => { throw new Error("close"); })])
        .catch(() => browser.process()?.kill("SIGKILL"));
    }
    if (server) await close(server);
    rmSync(profile, { recursive: true, force: true });
  };
  let page = null;
  let stage = "start";
  try {
    const app = await serve(appPort, config);
    server = app.server;
    mark("appServing");

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
        // Only loopback resolves: oidc-provider's pages @import a Google Fonts stylesheet, which then fails at once
        // (it shows in `requests` with status null) instead of waiting on the network.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
      ],
    });
    mark("browserStarted");

    page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    // Every request the tab makes (documents, redirects, scripts, fetches, CORS preflights), as DevTools reports it.
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    const byId = new Map();
    cdp.on("Network.requestWillBeSent", (e) => {
      const prev = byId.get(e.requestId);
      if (prev && e.redirectResponse) prev.status = e.redirectResponse.status;
      const headers = e.request.headers ?? {};
      const r = {
        method: e.request.method,
        url: e.request.url,
        type: e.type ?? null,
        authorization: Object.keys(headers).some((h) => h.toLowerCase() === "authorization"),
        status: null,
      };
      byId.set(e.requestId, r);
      requests.push(r);
    });
    cdp.on("Network.responseReceived", (e) => {
      const r = byId.get(e.requestId);
      if (r) r.status = e.response.status;
    });
    // The token and FHIR requests' real headers (a fetch's Authorization shows in requestWillBeSent, a form post's
    // or a preflight's may only show here).
    cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
      const r = byId.get(e.requestId);
      if (r && Object.keys(e.headers ?? {}).some((h) => h.toLowerCase() === "authorization")) r.authorization = true;
    });

    stage = "launch";
    await page.goto(`${app.origin}/app/launch.html`, { waitUntil: "domcontentloaded", timeout: STEP_MS });

    stage = "login page";
    await until(stage, async () => {
      if (await page.evaluate(() => window.__error || null)) return "error";
      await providerError(page);
      return page.$('input[name="login"]');
    });
    const launchError = await page.evaluate(() => window.__error || null).catch(() => null);
    if (launchError) throw Object.assign(new Error(`authorize() failed: ${launchError}`), { stage: "launch" });
    mark("loginPage");
    await page.type('input[name="login"]', login);
    if (await page.$('input[name="password"]')) await page.type('input[name="password"]', "any-password");
    await Promise.all([
      page.waitForNavigation({ waitUntil: "domcontentloaded", timeout: STEP_MS }),
      page.click('form button[type="submit"]'),
    ]);

    // The consent screen (or, should the provider skip it, the app's callback).
    stage = "consent page";
    const callbackPrefix = `${app.origin}/app/callback.html`;
    const where = await until(stage, async () => {
      if (page.url().startsWith(callbackPrefix)) return "callback";
      await providerError(page);
      return (await page.$('input[name="prompt"][value="consent"]')) ? "consent" : null;
    });
    mark("consentPage");
    if (where === "consent") {
      const target = consent === "allow" ? 'form button[type="submit"]' : 'a[href*="/abort"]';
      await Promise.all([
        page.waitForNavigation({ waitUntil: "domcontentloaded", timeout: STEP_MS }),
        page.click(target),
      ]);
    }

    stage = "callback result";
    const outcome = await until(stage, async () => {
      if (!page.url().startsWith(callbackPrefix)) return null;
      return page.evaluate(() =>
        window.__result ? { result: window.__result } : window.__error ? { error: window.__error } : null);
    }, 2 * STEP_MS);
    mark("callbackDone");
    // DevTools events travel beside the evaluation's answer: let the last responses arrive.
    await sleep(100);

    const r = outcome.result ?? {};
    const out = {
      patient: r.patient ?? null,
      observations: r.observations ?? [],
      other: r.other ? { status: r.other.status, message: r.other.message } : null,
      error: outcome.error ?? r.error ?? null,
      errorStatus: r.errorStatus ?? null,
      tokenScopes: r.tokenScopes ?? null,
      tokenPatient: r.tokenPatient ?? null,
      fhirUser: r.fhirUser ?? null,
      requests,
      appOrigin: app.origin,
      redirectUri: callbackPrefix,
      timings,
      fhirclient: version("fhirclient"),
      chromium: await browser.version(),
    };
    await cleanup();
    out.timings.total = Date.now() - started;
    return out;
  } catch (e) {
    const url = page ? page.url() : null;
    await cleanup().catch(() => {});
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: e?.stage ?? stage, url, requests });
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
    const out = { error: String(e && e.stack || e), stage: e?.stage ?? null, url: e?.url ?? null, requests: e?.requests ?? [] };
    process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(1));
  },
);
