// A certified OpenID Provider (npm `oidc-provider`) on 127.0.0.1 for fhir-jwt-proxy's end-to-end tests: three tenants
// served under three paths of one HTTP server. Two issue JWT access tokens by the client-credentials grant with resource
// indicators; the third (/smart) serves a SMART App Launch (authorization code + PKCE, interactive login and consent).
// Each client's access tokens are shaped like those of a provider our users run (Entra ID v1 and v2, Azure AD B2C, Okta,
// Keycloak, oidc-provider's own RFC 9068 tokens); the shaping is done by the provider itself (its JWT format
// customizer), so tokens always come from its token endpoint, signed by its keystore.
//
// Usage:
//   node server.mjs [--port N] [--keys FILE] [--launch-redirect URL[,URL...]]...
//       Serve until killed. Prints "ready http://127.0.0.1:PORT" once listening (its first line on stdout; oidc-provider
//       may print NOTICE lines after it).
//       --port (or IDP_PORT): the port to bind on 127.0.0.1; 0 (the default) picks an ephemeral one. A test restarts
//         the provider on the port its first start picked, so the proxy under test keeps its configured authorities.
//       --keys (or IDP_KEYS): a JWKS file with private keys, used as the signing keystore of every tenant. The first key
//         of a type signs (oidc-provider picks the first key that fits the algorithm), so a rotation lists the new key
//         first. Without it every tenant gets a fresh RSA-2048 and EC P-256 key at start.
//       --launch-redirect: a redirect URI registered for both /smart clients, e.g. http://127.0.0.1:P/app/callback.html
//         (repeatable, or comma-separated). Without it they get http://127.0.0.1:1/app/callback.html, which nothing
//         serves: the tenant starts, but no launch can complete.
//   node server.mjs --keygen LABEL FILE
//       Write a JWKS with a private RSA-2048 key (kid LABEL-rsa, no alg, like Entra's JWKS) and a private EC P-256 key
//       (kid LABEL-ec, alg ES256, like Okta's and Keycloak's) to FILE, and exit.
//
// Tenants (authority = where discovery is served; issuer = what the discovery document and every token say):
//   /tid-v1       Entra ID v1 style: issuer http://127.0.0.1:PORT/sts/tid-v1/ differs from the authority, as Entra's
//                 https://sts.windows.net/<tid>/ does from https://login.microsoftonline.com/<tid>.
//   /tid-v2/v2.0  Entra ID v2 / Okta / Keycloak style: issuer equals the authority.
//   /smart        SMART App Launch (standalone): issuer equals the authority, http://127.0.0.1:PORT/smart.
//                 Authorization-code grant, PKCE S256 required for every client; refresh_token allowed, but
//                 oidc-provider drops `offline_access` unless the request says prompt=consent (fhirclient does not), so
//                 no refresh token is issued in practice. Clients: `smart-app` (public, token_endpoint_auth_method
//                 none) and `smart-app-confidential` (client_secret_basic, secret `confidential-secret`), both with the
//                 --launch-redirect URIs; CORS at the token endpoint for those URIs' origins. Scopes: openid fhirUser
//                 launch/patient offline_access (OIDC scopes) and patient/*.read patient/*.rs patient/Patient.rs
//                 patient/Observation.rs (scopes of the FHIR API, resource `urn:fhir-api`, the default resource);
//                 others are dropped. oidc-provider's devInteractions (this tenant only): a login form taking any login
//                 name and password, the login name being the account id and the patient id; then a consent page
//                 (Continue submits, [ Cancel ] aborts: the app gets error=access_denied). Access token: RS256 JWT, typ
//                 at+jwt, {iss, sub: LOGIN, aud: "fhir-api", azp and client_id: the client, scp: every granted scope
//                 space-separated (no `scope` claim), fhirUser: "Patient/LOGIN", exp (600 s), iat, jti}. Token
//                 response: `scope` likewise lists every granted scope; `patient: LOGIN` when launch/patient is
//                 granted. The ID token carries fhirUser when the fhirUser scope is granted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const RESOURCE_SCOPES = [
  'patient/*.read', 'patient.all.read', 'patient.Observation.read', 'patient.Patient.read',
  'patient/Observation.rs', 'patient/Patient.rs', 'system/Observation.rs', 'system/Patient.rs',
  'user_impersonation', 'openid', 'fhirUser',
].join(' ');

// What each client's access token looks like. `style` names the provider it mimics (see shape() below).
const TENANTS = {
  'tid-v1': {
    issuer: (base) => `${base}/sts/tid-v1/`,
    clients: {
      // Entra ID v1: `appid` (no azp), `typ: JWT`, `x5t` beside `kid`, scopes with `.` (Entra names cannot carry `/`).
      'v1-portal': { style: 'entra-v1', alg: 'RS256', fhirUser: 'Patient/123' },
      // Another application of the same tenant that the proxy's configuration does not list.
      'v1-unregistered': { style: 'entra-v1', alg: 'RS256', fhirUser: 'Patient/123' },
      // A provider that stamps the authority URL (not its discovered issuer) into `iss`.
      'v1-authority-iss': { style: 'entra-v1', alg: 'RS256', fhirUser: 'Patient/123', iss: 'authority' },
      // ...and one whose `iss` lacks the issuer's trailing slash (https://sts.windows.net/<tid> without the `/`).
      'v1-iss-no-slash': { style: 'entra-v1', alg: 'RS256', fhirUser: 'Patient/123', iss: 'no-slash' },
      // Azure AD B2C: `azp`, `typ: JWT`, the user's FHIR resource in a directory extension `extension_fhirUser`.
      'b2c-portal': { style: 'b2c', alg: 'RS256', extensionFhirUser: 'https://fhir.example/r4/Patient/456' },
      // A B2C user whose extension attribute names a resource of another FHIR server.
      'b2c-elsewhere': { style: 'b2c', alg: 'RS256', extensionFhirUser: 'https://other-fhir.example/r4/Patient/456' },
      // A B2C user without the extension attribute.
      'b2c-no-fhiruser': { style: 'b2c', alg: 'RS256' },
    },
  },
  'tid-v2/v2.0': {
    issuer: (base) => `${base}/tid-v2/v2.0`,
    clients: {
      // Entra ID v2: `azp`, `scp` as a space-separated string, `typ: JWT`.
      'v2-portal': { style: 'entra-v2', alg: 'RS256', fhirUser: 'Patient/123' },
      // Okta with an `azp` custom claim: `scp` as a JSON array, no `typ` header, here signed ES256.
      'okta-portal': { style: 'okta', alg: 'ES256', fhirUser: 'Patient/123', azp: true },
      // Okta as it ships: the client in `cid`, no `azp`.
      'okta-cid-only': { style: 'okta', alg: 'ES256', fhirUser: 'Patient/123' },
      // oidc-provider's own RFC 9068 token (`typ: at+jwt`, `client_id`, `scope`) with an added `azp` (Keycloak-like).
      portal: { style: 'rfc9068', alg: 'RS256', fhirUser: 'Patient/123', azp: true },
      reporting: { style: 'rfc9068', alg: 'ES256', fhirUser: 'Practitioner/7', azp: true },
      // ...and without `azp`: RFC 9068 names the client only in `client_id`.
      'rfc9068-plain': { style: 'rfc9068', alg: 'RS256', fhirUser: 'Patient/123' },
      // A client of this tenant whose id equals an application of the other tenant (realms may reuse client ids).
      'v1-portal': { style: 'entra-v2', alg: 'RS256', fhirUser: 'Patient/999' },
    },
  },
};

function args() {
  const out = { port: Number(process.env.IDP_PORT ?? 0), keys: process.env.IDP_KEYS, launchRedirects: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--port') out.port = Number(argv[(i += 1)]);
    else if (argv[i] === '--launch-redirect') {
      const v = argv[(i += 1)];
      if (v === undefined) throw new Error('--launch-redirect needs a URL');
      out.launchRedirects.push(...v.split(',').map((u) => u.trim()).filter(Boolean));
    }
    else if (argv[i] === '--keys') out.keys = argv[(i += 1)];
    else if (argv[i] === '--keygen') out.keygen = [argv[(i += 1)], argv[(i += 1)]];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) throw new Error('bad --port');
  for (const u of out.launchRedirects) {
    if (!URL.canParse(u)) throw new Error(`bad --launch-redirect ${u}`);
  }
  return out;
}

function generateKeys(label) {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return {
    keys: [
      { ...rsa, kid: `${label}-rsa`, use: 'sig' },
      { ...ec, kid: `${label}-ec`, use: 'sig', alg: 'ES256' },
    ],
  };
}

// Reshape oidc-provider's RFC 9068 access token (header typ at+jwt; claims iss, sub, aud, exp, iat, jti, client_id,
// scope) into the token the mimicked provider issues.
function shape(profile, clientId, authority, jwks, jwt) {
  const claims = jwt.payload;
  const scopes = (claims.scope ?? '').split(' ').filter(Boolean);
  const drop = (...names) => names.forEach((n) => delete claims[n]);
  switch (profile.style) {
    case 'entra-v1': {
      // Entra signs with RSA; its header carries x5t equal to kid.
      const kid = jwks.keys.find((k) => k.kty === 'RSA')?.kid;
      jwt.header = { typ: 'JWT', x5t: kid };
      drop('client_id', 'scope');
      Object.assign(claims, {
        appid: clientId, appidacr: '1', ver: '1.0', tid: 'tid-v1', oid: `oid-${clientId}`,
        scp: scopes.join(' '), fhirUser: profile.fhirUser,
      });
      break;
    }
    case 'b2c':
      jwt.header = { typ: 'JWT' };
      drop('client_id', 'scope');
      Object.assign(claims, {
        azp: clientId, ver: '1.0', tfp: 'B2C_1_signin', scp: scopes.join(' '),
        extension_fhirUser: profile.extensionFhirUser,
      });
      break;
    case 'entra-v2':
      jwt.header = { typ: 'JWT' };
      drop('client_id', 'scope');
      Object.assign(claims, {
        azp: clientId, azpacr: '1', ver: '2.0', tid: 'tid-v2', scp: scopes.join(' '), fhirUser: profile.fhirUser,
      });
      break;
    case 'okta':
      // No typ at all (JSON.stringify leaves an undefined member out of the protected header).
      jwt.header = { typ: undefined };
      drop('client_id', 'scope');
      Object.assign(claims, {
        ver: 1, cid: clientId, uid: `00u-${clientId}`, scp: scopes, fhirUser: profile.fhirUser,
        ...(profile.azp ? { azp: clientId } : {}),
      });
      break;
    case 'rfc9068':
      Object.assign(claims, { fhirUser: profile.fhirUser, ...(profile.azp ? { azp: clientId } : {}) });
      break;
    default:
      throw new Error(`unknown style ${profile.style}`);
  }
  if (profile.iss === 'authority') claims.iss = authority;
  if (profile.iss === 'no-slash') claims.iss = claims.iss.replace(/\/$/, '');
}

function tenant(base, mount, { issuer, clients }, jwks) {
  const authority = `${base}/${mount}`;
  const provider = new Provider(issuer(base), {
    jwks,
    clients: Object.keys(clients).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://fhir.example/r4',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => ({
          scope: RESOURCE_SCOPES,
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: clients[client.clientId].alg } },
        }),
      },
    },
    formats: {
      customizers: {
        jwt: (ctx, token, jwt) => shape(clients[token.clientId], token.clientId, authority, jwks, jwt),
      },
    },
  });
  provider.proxy = false;
  return { prefix: `/${mount}`, callback: provider.callback() };
}

// The SMART App Launch tenant (mounted at /smart, issuer = authority): the authorization-code grant with PKCE (S256,
// required for every client) for a browser app, an interactive login and consent (oidc-provider's devInteractions,
// enabled for this tenant only), JWT access tokens for the FHIR API (aud `fhir-api`).
const SMART_OIDC_SCOPES = ['openid', 'fhirUser', 'launch/patient', 'offline_access'];
const SMART_RESOURCE_SCOPES = ['patient/*.read', 'patient/*.rs', 'patient/Patient.rs', 'patient/Observation.rs'];
const SMART_RESOURCE = 'urn:fhir-api';
const SMART_AUDIENCE = 'fhir-api';
const SMART_CLIENTS = {
  'smart-app': { token_endpoint_auth_method: 'none' },
  'smart-app-confidential': { token_endpoint_auth_method: 'client_secret_basic', client_secret: 'confidential-secret' },
};
// Without --launch-redirect the clients still register, with a redirect no test app listens on.
const SMART_PLACEHOLDER_REDIRECT = 'http://127.0.0.1:1/app/callback.html';

// The scopes of an access token: the OIDC scopes of the grant (openid, fhirUser, launch/patient) that the grant source
// (the authorization code, or the refresh token) carries, then the token's resource scopes (the FHIR scopes; the only
// ones oidc-provider itself puts in a resource server's token).
function smartScopes(ctx, resourceScope) {
  const { AuthorizationCode: code, RefreshToken: rt, Grant: grant } = ctx.oidc.entities;
  const requested = new Set(((code ?? rt)?.scope ?? '').split(' ').filter(Boolean));
  const oidc = grant ? grant.getOIDCScopeFiltered(requested).split(' ') : [...requested];
  const resource = (resourceScope ?? '').split(' ');
  return [...new Set([...oidc, ...resource])].filter(Boolean).join(' ');
}

function smartTenant(base, redirects, jwks) {
  const issuer = `${base}/smart`;
  const redirectUris = redirects.length ? redirects : [SMART_PLACEHOLDER_REDIRECT];
  const origins = new Set(redirectUris.map((u) => new URL(u).origin));
  const provider = new Provider(issuer, {
    jwks,
    clients: Object.entries(SMART_CLIENTS).map(([id, auth]) => ({
      client_id: id,
      ...auth,
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      // Only the OIDC scopes can be listed here (oidc-provider checks client metadata against its static scopes);
      // the FHIR scopes are the resource server's (getResourceServerInfo below), anything else is dropped.
      scope: SMART_OIDC_SCOPES.join(' '),
    })),
    responseTypes: ['code'],
    // The login name typed at the login form is the account id, and the patient's id.
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, fhirUser: `Patient/${sub}` }),
    }),
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    scopes: ['openid', 'offline_access', 'launch/patient'],
    pkce: { required: () => true },
    // Plain numbers (oidc-provider's default functions print a NOTICE on stdout, after the "ready" line).
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86400 },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops! something went wrong</title></head>
<body><h1>oops! something went wrong</h1>${Object.entries(out).map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('')}</body></html>`;
    },
    // The app's token requests come from the browser, cross-origin: allow the origins of the registered redirects.
    clientBasedCORS: (ctx, origin) => origins.has(origin),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => SMART_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: SMART_RESOURCE_SCOPES.join(' '),
          audience: SMART_AUDIENCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    formats: {
      customizers: {
        // oidc-provider's RFC 9068 token (typ at+jwt; iss, sub, aud, exp, iat, jti, client_id, scope) with the
        // scopes as `scp` (all granted scopes, space-separated, instead of `scope`), `azp` and `fhirUser`.
        jwt: (ctx, token, jwt) => {
          const claims = jwt.payload;
          const scp = smartScopes(ctx, claims.scope);
          delete claims.scope;
          Object.assign(claims, { azp: token.clientId, scp, fhirUser: `Patient/${token.accountId}` });
        },
      },
    },
  });
  provider.proxy = false;
  // The token response: `scope` lists every granted scope (not only the resource scopes), and with launch/patient
  // granted it carries SMART's launch context `patient` (the login name).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !ctx.body?.access_token) return;
    const scope = smartScopes(ctx, ctx.body.scope);
    ctx.body.scope = scope;
    const accountId = ctx.oidc.entities.Account?.accountId;
    if (accountId && scope.split(' ').includes('launch/patient')) ctx.body.patient = accountId;
  });
  return { prefix: '/smart', callback: provider.callback() };
}

const opts = args();
if (opts.keygen) {
  const [label, file] = opts.keygen;
  fs.writeFileSync(file, JSON.stringify(generateKeys(label)));
  process.exit(0);
}
const fileKeys = opts.keys ? JSON.parse(fs.readFileSync(opts.keys, 'utf8')) : undefined;

const server = http.createServer();
server.listen(opts.port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const mounts = Object.entries(TENANTS).map(([mount, t], i) => (
    tenant(base, mount, t, fileKeys ?? generateKeys(`t${i + 1}`))));
  mounts.push(smartTenant(base, opts.launchRedirects, fileKeys ?? generateKeys('smart')));
  // Each tenant sees paths relative to its mount; oidc-provider derives the mount path from originalUrl vs url, so
  // its discovery document names endpoints under the mount while its issuer stays what the tenant configured.
  server.on('request', (req, res) => {
    const mount = mounts.find((m) => req.url === m.prefix || req.url.startsWith(`${m.prefix}/`));
    if (!mount) {
      res.writeHead(404).end();
      return;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(mount.prefix.length) || '/';
    mount.callback(req, res);
  });
  process.stdout.write(`ready ${base}\n`);
});
