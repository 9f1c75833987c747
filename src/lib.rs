//! fhir-jwt-proxy: a reverse proxy for FHIR servers that trusts bearer JWTs from several identity providers.
//!
//! A request travels one way through named stages; each stage hands the next a typed value:
//!
//! ```text
//! request ─proxy─▶ bearer token ─authenticate─▶ VerifiedToken ─smart / roles─▶ Decision ─forward─▶ upstream answer
//!                                   ▲                                    ▲
//!                       keys (per-issuer JWKS)                  config (validated once)
//! ```
//!
//! The layers, from the bottom up. A module may use the layers below it, never one above (no import circle; the
//! rule ids cited in comments and test names are in docs/rules.md):
//!
//! 1. **Data and pure helpers, depending on nothing in the crate**: [`fhir`] (R4 resource types, compartments,
//!    reference-parameter tables, request classification, the one query parser), [`headers`] (the header names the
//!    proxy owns), [`defaults`] (every default value), [`rule_id`], [`clock`], [`request_id`], [`body`],
//!    [`metrics`] (Prometheus families; fed by the layers above, reads none of them), [`tls`], [`log_format`].
//! 2. **Validated configuration**: [`config`] — the file → typed values (pure data, no I/O, no runtime types);
//!    [`scope`] — a SMART scope string → grants.
//! 3. **Errors**: [`error`] — request and token errors and their one mapping to HTTP.
//! 4. **Pure stages**: [`jwk`] (keys without I/O), [`claims`] (claim → header mapping), [`token`] (a JWS → a
//!    [`token::VerifiedToken`]), [`smart`] (SMART authorization → a [`smart::Decision`]), [`roles`] (role-based
//!    authorization of primary tokens), [`audit`] (decision records and their sinks).
//! 5. **I/O beside requests**: [`discovery`] (OIDC metadata and JWKS fetches), [`keys`] (per-issuer key sets, refresh,
//!    unknown-`kid` refetch, the key-store factory), [`token_cache`], [`upstream_pool`], [`body_timeout`].
//! 6. **The snapshot**: [`state`] — config, key stores, settings and token cache behind one `ArcSwap`.
//! 7. **Request stages**: [`authenticate`] (cache → keys → token), [`forward`] (the upstream hop), [`proxy`] (the
//!    per-request service: public paths → authenticate → smart or roles → forward), [`reload`].
//! 8. **The process**: [`connections`] (one listening socket served: connection cap, timeouts, drain), [`workers`]
//!    (the proxy's data path, one `current_thread` runtime per core with its own socket and upstream connections),
//!    [`server`] (listeners, admin routes, shutdown), and the commands [`check`], [`cli`], [`demo`].

pub mod audit;
pub mod authenticate;
pub mod body;
pub mod body_timeout;
pub mod check;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod cors;
pub mod defaults;
pub mod demo;
pub mod discovery;
pub mod error;
pub mod fhir;
pub mod forward;
pub mod headers;
pub mod jwk;
pub mod keys;
pub mod links;
pub mod log_format;
pub mod metrics;
pub mod pages;
pub mod proxy;
pub mod reload;
pub mod request_id;
pub mod roles;
pub mod rule_id;
pub mod scope;
pub mod server;
pub mod smart;
pub mod smart_launch;
pub mod state;
pub mod tls;
pub mod token;
pub mod token_cache;
pub mod trace_context;
pub mod upstream_pool;
pub mod workers;
