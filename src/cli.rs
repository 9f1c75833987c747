//! The command line: `run`, `check`, `demo`. Every flag can also come from `FHIR_JWT_PROXY_<FLAG>`.
//!
//! Two layers (ripgrep's habit): clap parses raw values here; [`RunArgs::settings`] derives the validated
//! [`RunSettings`] once, merging the config file's optional `proxy` object (flags and env win over the file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

use std::sync::Arc;

use crate::config::{Config, LoadOptions, PrimaryAuthorization, MAX_CLOCK_LEEWAY_SECS};
use crate::connections::ConnectionLimits;
use crate::defaults;
use crate::discovery::{EgressProxy, FetchTimeouts};
use crate::forward::UpstreamSettings;
use crate::keys::RefreshPolicy;
use crate::reload::ReloadSource;
use crate::server::{ReadyWhen, RunSettings};
use crate::smart::compartment::RewriteStyle;
use crate::smart::SmartSettings;
use crate::tls::TlsFiles;
use crate::token::ValidationSettings;
use crate::token_cache::TokenCacheSettings;

#[derive(Debug, Parser)]
#[command(
    name = "fhir-jwt-proxy",
    version,
    about = "A reverse proxy for FHIR servers that validates bearer JWTs from several identity providers",
    long_about = "A reverse proxy for FHIR servers. It reads an Azure-style authenticationConfiguration file \
(a primary authority/audience plus up to two smartIdentityProviders), discovers each provider, caches its JWKS, \
validates every bearer token and forwards allowed requests, streamed, to the FHIR server.\n\n\
Exit codes: 0 success, 1 an identity provider could not be reached (check), 2 invalid config or usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format.
    #[arg(long, global = true, env = "FHIR_JWT_PROXY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// `--primary-authorization` as typed; the validated [`PrimaryAuthorization`] lives in config (no clap there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrimaryAuthorizationArg {
    Roles,
    Passthrough,
    #[value(alias = "enforce")]
    Smart,
}

impl From<PrimaryAuthorizationArg> for PrimaryAuthorization {
    fn from(a: PrimaryAuthorizationArg) -> Self {
        match a {
            PrimaryAuthorizationArg::Roles => PrimaryAuthorization::Roles,
            PrimaryAuthorizationArg::Passthrough => PrimaryAuthorization::Passthrough,
            PrimaryAuthorizationArg::Smart => PrimaryAuthorization::Smart,
        }
    }
}

/// `--ready-when` as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadyWhenArg {
    Any,
    All,
}

/// `--compartment-rewrite` as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RewriteStyleArg {
    Path,
    Param,
}

impl From<RewriteStyleArg> for RewriteStyle {
    fn from(a: RewriteStyleArg) -> Self {
        match a {
            RewriteStyleArg::Path => RewriteStyle::Path,
            RewriteStyleArg::Param => RewriteStyle::Param,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve: validate bearer tokens and forward allowed requests to the FHIR server.
    Run(Box<RunArgs>),
    /// Validate a config file and (unless --offline) fetch every discovery document and JWKS.
    Check(CheckArgs),
    /// Start a local token issuer, a small FHIR stand-in and the proxy, and print curl lines to try.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The authenticationConfiguration JSON file (ARM body, wrapped or bare).
    #[arg(long, env = "FHIR_JWT_PROXY_CONFIG")]
    pub config: PathBuf,
    /// Base URL of the FHIR server; may carry a path prefix (https://fhir.internal/r4).
    #[arg(long, env = "FHIR_JWT_PROXY_UPSTREAM")]
    pub upstream: Url,
    /// Address of the proxy listener.
    #[arg(long, env = "FHIR_JWT_PROXY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the admin listener (/healthz, /readyz).
    #[arg(
        long,
        env = "FHIR_JWT_PROXY_ADMIN_LISTEN",
        default_value = "127.0.0.1:9090"
    )]
    pub admin_listen: SocketAddr,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Seconds of clock skew tolerated on exp/nbf/iat, 0..=600 [default: 300, or proxy.clockLeewaySeconds].
    #[arg(long, env = "FHIR_JWT_PROXY_CLOCK_LEEWAY", value_parser = clap::value_parser!(u64).range(0..=MAX_CLOCK_LEEWAY_SECS))]
    pub clock_leeway: Option<u64>,
    /// PEM certificate chain: serve HTTPS (HTTP/1.1 and h2 by ALPN); reloaded when the file changes.
    #[arg(long, env = "FHIR_JWT_PROXY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "FHIR_JWT_PROXY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Forward the client's Authorization header to the upstream (removed by default).
    #[arg(long, env = "FHIR_JWT_PROXY_FORWARD_TOKEN")]
    pub forward_token: bool,
    /// Minimum seconds between two forced JWKS refetches for unknown kids, per issuer.
    #[arg(
        long,
        env = "FHIR_JWT_PROXY_JWKS_REFETCH_COOLDOWN",
        default_value_t = defaults::JWKS_REFETCH_COOLDOWN_SECS
    )]
    pub jwks_refetch_cooldown: u64,
    /// Seconds between scheduled JWKS refreshes; a shorter Cache-Control max-age wins, but never below 300 s (or below
    /// this interval, when it is shorter: 60 refreshes every 60 s).
    #[arg(
        long,
        env = "FHIR_JWT_PROXY_JWKS_REFRESH_INTERVAL",
        default_value_t = defaults::JWKS_REFRESH_INTERVAL_SECS
    )]
    pub jwks_refresh_interval: u64,
    /// Seconds after which a key set that could not be refreshed is no longer trusted (its tokens get 401 and the
    /// authority turns unready); 0 keeps the last good set forever. Never shorter than the refresh interval.
    #[arg(long, env = "FHIR_JWT_PROXY_JWKS_MAX_STALE", default_value_t = defaults::JWKS_MAX_STALE_SECS)]
    pub jwks_max_stale: u64,
    /// When /readyz answers 200: `any` authority has usable keys (one identity provider down does not stall a
    /// rollout), or `all` of them.
    #[arg(long, env = "FHIR_JWT_PROXY_READY_WHEN", value_enum, default_value_t = ReadyWhenArg::Any)]
    pub ready_when: ReadyWhenArg,
    /// Worker threads serving requests, each on its own core with its own listening socket (SO_REUSEPORT) and its
    /// own upstream connections; 0 means one per core this process may use (its CPU affinity and cgroup quota).
    /// At most 1024.
    #[arg(long, env = "FHIR_JWT_PROXY_WORKERS", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=defaults::MAX_WORKERS))]
    pub workers: u16,
    /// A proxy for discovery, JWKS and AuditEvent requests (never for the upstream FHIR server); without it,
    /// HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment apply.
    #[arg(long, env = "FHIR_JWT_PROXY_EGRESS_PROXY")]
    pub egress_proxy: Option<Url>,
    /// Seconds to wait for the upstream's response headers before answering 504; also the longest silence allowed
    /// between two frames of the upstream's body (a stalled stream is aborted).
    #[arg(long, env = "FHIR_JWT_PROXY_UPSTREAM_TIMEOUT", default_value_t = defaults::UPSTREAM_TIMEOUT_SECS)]
    pub upstream_timeout: u64,
    /// How primary-authority tokens are authorized after authentication: `roles` (proxy.roles decide),
    /// `passthrough` (the upstream authorizes) or `smart` (SMART scopes) [default: roles, or proxy.primaryAuthorization].
    #[arg(
        long,
        alias = "primary-smart-mode",
        env = "FHIR_JWT_PROXY_PRIMARY_AUTHORIZATION",
        value_enum
    )]
    pub primary_authorization: Option<PrimaryAuthorizationArg>,
    /// Require typ at+jwt on every token (RFC 9068) [default: off, or proxy.requireAtJwtTyp].
    #[arg(long, env = "FHIR_JWT_PROXY_REQUIRE_AT_JWT_TYP")]
    pub require_at_jwt_typ: bool,
    /// Public base URL of the FHIR service; an absolute fhirUser must start with it [or proxy.fhirBaseUrl].
    #[arg(long, env = "FHIR_JWT_PROXY_FHIR_BASE_URL")]
    pub fhir_base_url: Option<Url>,
    /// How searches are confined to the user's compartment: `path` (Patient/123/Observation?...) or `param`
    /// (Observation?...&subject=Patient/123, for servers without compartment search).
    #[arg(long, env = "FHIR_JWT_PROXY_COMPARTMENT_REWRITE", value_enum, default_value_t = RewriteStyleArg::Path)]
    pub compartment_rewrite: RewriteStyleArg,
    /// Verified-token cache size in bytes (≈ 0.5 KiB per cached token); 0 disables it.
    #[arg(long, env = "FHIR_JWT_PROXY_TOKEN_CACHE_BYTES", default_value_t = defaults::TOKEN_CACHE_BYTES)]
    pub token_cache_bytes: u64,
    /// Longest a verified token stays cached, in seconds (never past its exp).
    #[arg(long, env = "FHIR_JWT_PROXY_TOKEN_CACHE_TTL", default_value_t = defaults::TOKEN_CACHE_TTL_SECS)]
    pub token_cache_ttl: u64,
    /// Largest Authorization header accepted, in bytes.
    #[arg(long, env = "FHIR_JWT_PROXY_MAX_TOKEN_BYTES", default_value_t = defaults::MAX_TOKEN_BYTES)]
    pub max_token_bytes: usize,
    /// Seconds a client has to send the whole request head.
    #[arg(long, env = "FHIR_JWT_PROXY_HEADER_READ_TIMEOUT", default_value_t = defaults::HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout: u64,
    /// Maximum concurrent client connections.
    #[arg(long, env = "FHIR_JWT_PROXY_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// How often the config file is checked for changes, in milliseconds (SIGHUP reloads at once).
    #[arg(
        long,
        env = "FHIR_JWT_PROXY_CONFIG_POLL_INTERVAL_MS",
        default_value_t = defaults::CONFIG_POLL_INTERVAL_MS
    )]
    pub config_poll_interval_ms: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, env = "FHIR_JWT_PROXY_DRAIN_TIMEOUT", default_value_t = defaults::DRAIN_TIMEOUT_SECS)]
    pub drain_timeout: u64,
}

/// Flags shared by `run` and `check`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Permit http:// authorities and JWKS URLs (loopback tests and the demo only).
    #[arg(long, env = "FHIR_JWT_PROXY_ALLOW_INSECURE_HTTP")]
    pub allow_insecure_http: bool,
    /// PEM file of CA certificates trusted besides the platform's, for the upstream, discovery and JWKS.
    #[arg(long, env = "FHIR_JWT_PROXY_UPSTREAM_CA")]
    pub upstream_ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The authenticationConfiguration JSON file.
    #[arg(long, env = "FHIR_JWT_PROXY_CONFIG")]
    pub config: PathBuf,
    /// Validate the file only; fetch nothing.
    #[arg(long, env = "FHIR_JWT_PROXY_OFFLINE")]
    pub offline: bool,
    /// Report format: `text` for people, `json` for pipelines.
    #[arg(long, env = "FHIR_JWT_PROXY_CHECK_FORMAT", value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the proxy listener (falls back to an ephemeral port if taken).
    #[arg(long, env = "FHIR_JWT_PROXY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Run every printed example against the proxy, report, and exit (0 if each got its announced answer).
    #[arg(long, env = "FHIR_JWT_PROXY_SELF_TEST")]
    pub self_test: bool,
}

/// The flags that override the file's `proxy` object; kept so a reload can merge them with the new file.
#[derive(Debug, Clone)]
struct FlagLayer {
    clock_leeway: Option<u64>,
    require_at_jwt_typ: bool,
    primary_authorization: Option<PrimaryAuthorization>,
    max_token_bytes: usize,
    fhir_base_url: Option<Url>,
    compartment_rewrite: RewriteStyle,
}

impl FlagLayer {
    /// Flag (or environment) first, then the file, then the default.
    fn effective(&self, config: &Config) -> (ValidationSettings, SmartSettings) {
        let file = &config.file_settings;
        (
            ValidationSettings {
                leeway_secs: self
                    .clock_leeway
                    .or(file.clock_leeway_seconds)
                    .unwrap_or(defaults::CLOCK_LEEWAY_SECS),
                require_at_jwt_typ: self.require_at_jwt_typ
                    || file.require_at_jwt_typ.unwrap_or(false),
                primary_authorization: self.primary_authorization,
                max_token_bytes: self.max_token_bytes.max(1024),
            },
            SmartSettings {
                fhir_base_url: self
                    .fhir_base_url
                    .clone()
                    .or_else(|| file.fhir_base_url.clone()),
                rewrite_style: self.compartment_rewrite,
            },
        )
    }
}

impl RunArgs {
    /// Derived, validated settings; the file's `proxy` object fills what no flag set.
    pub fn settings(&self, config: &Config) -> RunSettings {
        let flags = FlagLayer {
            clock_leeway: self.clock_leeway,
            require_at_jwt_typ: self.require_at_jwt_typ,
            primary_authorization: self.primary_authorization.map(Into::into),
            max_token_bytes: self.max_token_bytes,
            fhir_base_url: self.fhir_base_url.clone(),
            compartment_rewrite: self.compartment_rewrite.into(),
        };
        let (validation, smart) = flags.effective(config);
        RunSettings {
            listen: self.listen,
            admin_listen: self.admin_listen,
            upstream: UpstreamSettings {
                base: self.upstream.clone(),
                timeout: Duration::from_secs(self.upstream_timeout.max(1)),
                forward_token: self.forward_token,
                ca: self.common.upstream_ca.clone(),
            },
            allow_insecure_http: self.common.allow_insecure_http,
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            validation,
            smart,
            reload: Some(ReloadSource {
                path: self.config.clone(),
                options: LoadOptions {
                    allow_insecure_http: self.common.allow_insecure_http,
                },
                poll_interval: Duration::from_millis(self.config_poll_interval_ms.max(50)),
                settings: Arc::new(move |c: &Config| flags.effective(c)),
            }),
            refresh: RefreshPolicy {
                interval: Duration::from_secs(self.jwks_refresh_interval.max(1)),
                // An operator who asks for a shorter interval than the floor gets it.
                floor: Duration::from_secs(
                    self.jwks_refresh_interval
                        .clamp(1, defaults::JWKS_REFRESH_FLOOR_SECS),
                ),
                refetch_cooldown: Duration::from_secs(self.jwks_refetch_cooldown),
                // Never shorter than the interval: a healthy set would go stale before its next refresh.
                max_stale: (self.jwks_max_stale > 0).then(|| {
                    Duration::from_secs(self.jwks_max_stale.max(self.jwks_refresh_interval.max(1)))
                }),
                ..RefreshPolicy::default()
            },
            fetch_timeouts: FetchTimeouts::default(),
            egress: match &self.egress_proxy {
                Some(url) => EgressProxy::Explicit(url.clone()),
                None => EgressProxy::Environment,
            },
            workers: usize::from(self.workers),
            ready_when: match self.ready_when {
                ReadyWhenArg::Any => ReadyWhen::Any,
                ReadyWhenArg::All => ReadyWhen::All,
            },
            token_cache: TokenCacheSettings {
                max_bytes: self.token_cache_bytes,
                ttl: Duration::from_secs(self.token_cache_ttl),
            },
            limits: ConnectionLimits {
                header_read_timeout: Duration::from_secs(self.header_read_timeout.max(1)),
                max_connections: self.max_connections.max(1),
                drain_timeout: Duration::from_secs(self.drain_timeout),
                ..ConnectionLimits::default()
            },
        }
    }
}
