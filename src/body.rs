//! The one body type every response of the proxy has: streamed upstream bodies and the proxy's own answers.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};

/// Errors a body can fail with while streaming.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body: either the upstream's stream or a small buffer the proxy wrote.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A body the proxy wrote itself.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed()
}
