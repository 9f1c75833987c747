// Run: node tests/e2e/idp/server.mjs   (prints "ready <issuer>" on stdout, serves until killed)
//
// oidc-provider (a certified OpenID Provider implementation) on 127.0.0.1 and an ephemeral port, issuing JWT access
// tokens by the client-credentials grant with resource indicators, for fhir-jwt-proxy's end-to-end tests.
// Clients: `portal` (patient/*.read, fhirUser Patient/123) and `reporting` (system scopes); resource https://fhir.example/r4.
import http from 'node:http';
import Provider from 'oidc-provider';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const profiles = {
    portal: { scope: 'patient/*.read openid', fhirUser: 'Patient/123' },
    reporting: { scope: 'system/Observation.rs system/Patient.rs', fhirUser: 'Practitioner/7' },
  };
  const provider = new Provider(issuer, {
    clients: Object.keys(profiles).map((id) => ({
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
          scope: profiles[client.clientId].scope,
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // SMART on FHIR claims the proxy requires (D1, D4): the authorized party and the user's FHIR resource.
    extraTokenClaims: (ctx, token) => ({
      azp: token.clientId,
      fhirUser: profiles[token.clientId]?.fhirUser,
    }),
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`ready ${issuer}\n`);
});
