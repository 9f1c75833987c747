//! Every default of the proxy, in one place: the flags' `default_value_t`, the settings' `Default` impls and the
//! README all read these.

/// C7, Q15: clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (0..=600).
pub const CLOCK_LEEWAY_SECS: u64 = 300;
/// C11: the largest `Authorization` header value, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// B5: scheduled key-set refresh, in seconds (12 h); a JWKS `max-age` shortens it.
pub const JWKS_REFRESH_INTERVAL_SECS: u64 = 12 * 3600;
/// B5: a `max-age` never shortens the refresh below this (5 min), nor below the configured interval if that is
/// shorter still (an operator who asks for 60 s gets 60 s).
pub const JWKS_REFRESH_FLOOR_SECS: u64 = 300;
/// B5: forced refetches for an unknown `kid`, at most one per this many seconds per issuer.
pub const JWKS_REFETCH_COOLDOWN_SECS: u64 = 300;
/// B6: a key set that could not be refreshed for longer than this stops being trusted (24 h); 0 = never.
pub const JWKS_MAX_STALE_SECS: u64 = 24 * 3600;
/// First retry after a failed key fetch, in seconds; doubles up to [`JWKS_RETRY_MAX_SECS`].
pub const JWKS_RETRY_INITIAL_SECS: u64 = 1;
pub const JWKS_RETRY_MAX_SECS: u64 = 60;
/// Discovery and JWKS fetches: connect and total time, in seconds.
pub const FETCH_CONNECT_SECS: u64 = 5;
pub const FETCH_TOTAL_SECS: u64 = 10;
/// The upstream's response headers, and any silence inside its body, in seconds.
pub const UPSTREAM_TIMEOUT_SECS: u64 = 30;
/// The verified-token cache: its size in bytes (≈ 0.5 KiB a token) and the longest an entry lives, in seconds.
pub const TOKEN_CACHE_BYTES: u64 = 64 * 1024 * 1024;
pub const TOKEN_CACHE_TTL_SECS: u64 = 300;
/// A client has this many seconds to send a whole request head.
pub const HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Concurrent client connections.
pub const MAX_CONNECTIONS: usize = 10_000;
/// HTTP/1 request head size cap, in bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// In-flight requests get this many seconds to finish on shutdown.
pub const DRAIN_TIMEOUT_SECS: u64 = 30;
/// How often the config file is checked for changes, in milliseconds.
pub const CONFIG_POLL_INTERVAL_MS: u64 = 2000;
/// The most worker threads `--workers` accepts: far beyond any core count a proxy runs on, and a bound on the
/// threads, sockets and upstream pools one flag can ask for.
pub const MAX_WORKERS: i64 = 1024;
