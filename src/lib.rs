//! fhir-jwt-proxy: a reverse proxy for FHIR servers that trusts bearer JWTs from several identity providers.
//!
//! A request travels one way through named stages; each stage hands the next a typed value:
//!
//! ```text
//! bearer header ──token──▶ VerifiedToken ──smart──▶ allowed ──forward──▶ upstream response
//!                  ▲                           ▲
//!           keys (per-issuer JWKS)       config (validated once)
//! ```
//!
//! Modules, and which may use which:
//! - [`config`] — the `authenticationConfiguration` file → validated [`config::Config`] (no I/O).
//! - [`discovery`] — OIDC metadata and JWKS fetches through one HTTP client.
//! - [`keys`] — per-issuer key sets, background refresh, single-flight unknown-`kid` refetch (uses `discovery`).
//! - [`token`] — pure validation → [`token::VerifiedToken`] (uses `keys` types, no I/O).
//! - [`claims`] — claim → header mapping by dotted paths, and the user claim.
//! - [`audit`] — one record per decision: rotated JSON-lines file, stdout target, FHIR AuditEvents.
//! - [`token_cache`] — verified tokens by their bytes, so a repeated token skips signature work.
//! - [`smart`] — pure SMART authorization of a verified token for a request (no I/O).
//! - [`forward`] — the upstream hop: URI rewrite, hop-by-hop and identity headers, streaming.
//! - [`upstream_pool`] — keep-alive HTTP/1.1 connections (or one HTTP/2 connection) to the upstream.
//! - [`proxy`] — the per-request service: public paths → token → smart → forward.
//! - [`metrics`] — Prometheus counters and histograms, rendered on the admin listener.
//! - [`error`] — request errors and their one mapping to HTTP.
//! - [`reload`] — SIGHUP and file-change reloads that swap a whole new snapshot.
//! - [`state`] — the snapshot (config + key stores) behind one `ArcSwap`.
//! - [`tls`] — the listener's certificate (reloadable) and the roots for upstream and provider connections.
//! - [`server`] — listeners, limits, admin routes, shutdown.
//! - [`log_format`] — the JSON log line (tracing-subscriber's shape, written without serde).
//! - [`check`], [`cli`], [`demo`] — the commands.
//!
//! Pure modules (`config`, `token`, `smart`, `error`) never import network modules.

pub mod audit;
pub mod authenticate;
pub mod body;
pub mod body_timeout;
pub mod check;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod error;
pub mod fhir;
pub mod forward;
pub mod headers;
pub mod jwk;
pub mod keys;
pub mod log_format;
pub mod metrics;
pub mod proxy;
pub mod reload;
pub mod request_id;
pub mod roles;
pub mod rule_id;
pub mod scope;
pub mod server;
pub mod smart;
pub mod state;
pub mod tls;
pub mod token;
pub mod token_cache;
pub mod upstream_pool;
