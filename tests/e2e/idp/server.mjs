// A certified OpenID Provider (npm `oidc-provider`) on 127.0.0.1 for fhir-jwt-proxy's end-to-end tests: two tenants
// served under two paths of one HTTP server, issuing JWT access tokens by the client-credentials grant with resource
// indicators. Each client's access tokens are shaped like those of a provider our users run (Entra ID v1 and v2, Azure
// AD B2C, Okta, Keycloak, oidc-provider's own RFC 9068 tokens); the shaping is done by the provider itself (its JWT
// format customizer), so tokens always come from its token endpoint, signed by its keystore.
//
// Usage:
//   node server.mjs [--port N] [--keys FILE]
//       Serve until killed. Prints "ready http://127.0.0.1:PORT" once listening.
//       --port (or IDP_PORT): the port to bind on 127.0.0.1; 0 (the default) picks an ephemeral one. A test restarts
//         the provider on the port its first start picked, so the proxy under test keeps its configured authorities.
//       --keys (or IDP_KEYS): a JWKS file with private keys, used as the signing keystore of every tenant. The first key
//         of a type signs (oidc-provider picks the first key that fits the algorithm), so a rotation lists the new key
//         first. Without it every tenant gets a fresh RSA-2048 and EC P-256 key at start.
//   node server.mjs --keygen LABEL FILE
//       Write a JWKS with a private RSA-2048 key (kid LABEL-rsa, no alg, like Entra's JWKS) and a private EC P-256 key
//       (kid LABEL-ec, alg ES256, like Okta's and Keycloak's) to FILE, and exit.
//
// Tenants (authority = where discovery is served; issuer = what the discovery document and every token say):
//   /tid-v1       Entra ID v1 style: issuer http://127.0.0.1:PORT/sts/tid-v1/ differs from the authority, as Entra's
//                 https://sts.windows.net/<tid>/ does from https://login.microsoftonline.com/<tid>.
//   /tid-v2/v2.0  Entra ID v2 / Okta / Keycloak style: issuer equals the authority.
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
  const out = { port: Number(process.env.IDP_PORT ?? 0), keys: process.env.IDP_KEYS };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--port') out.port = Number(argv[(i += 1)]);
    else if (argv[i] === '--keys') out.keys = argv[(i += 1)];
    else if (argv[i] === '--keygen') out.keygen = [argv[(i += 1)], argv[(i += 1)]];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) throw new Error('bad --port');
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
