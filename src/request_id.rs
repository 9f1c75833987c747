//! `X-Request-Id`: the client's when it is short and plain, else a fresh one; passed upstream and returned.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// The header.
pub const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// The client's `X-Request-Id` when it is short and plain, else a fresh random one.
pub fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    let sane = |v: &&HeaderValue| {
        (1..=128).contains(&v.len())
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    };
    if let Some(v) = headers.get(REQUEST_ID).filter(sane) {
        return v.clone();
    }
    fresh_request_id()
}

/// Per process: a random prefix and key, so ids of two processes differ and ids do not reveal a request count.
static REQUEST_ID_SEED: LazyLock<[u64; 2]> = LazyLock::new(|| {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // No randomness: the start time still tells two processes apart.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    let (prefix, key) = bytes.split_at(8);
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    [word(prefix), word(key)]
});

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// 24 hex digits: 32 bits of the process prefix, then the request counter through a bijection (unique within the
/// process for 2^64 requests) — no random draw and no allocation per digit on the hot path.
fn fresh_request_id() -> HeaderValue {
    let [prefix, key] = *REQUEST_ID_SEED;
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    // An odd multiplier and an xor are both invertible modulo 2^64.
    let scrambled = (n ^ key)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
        ^ key;
    let mut out = [0u8; 24];
    let digits = b"0123456789abcdef";
    let value = (u128::from(prefix as u32) << 64) | u128::from(scrambled);
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = digits[((value >> (4 * (23 - i))) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_distinct_hex_and_a_sane_client_id_is_kept() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| {
                let id = request_id(&http::HeaderMap::new());
                let s = id.to_str().expect("ascii").to_string();
                assert_eq!(s.len(), 24, "{s}");
                assert!(s.bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
                s
            })
            .collect();
        assert_eq!(ids.len(), 10_000);

        let mut headers = http::HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
    }
}
