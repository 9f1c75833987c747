//! W3C Trace Context (`traceparent`, `tracestate`): the proxy is one hop of a trace. A client's valid `traceparent`
//! keeps its trace id, and the proxy's own span becomes the parent the upstream sees; without one (or with a malformed
//! one) a new trace starts here. `tracestate` passes only alongside a valid `traceparent`. The trace id is logged with
//! the request id, so a request can be followed across the proxy and the FHIR server.

use http::{HeaderMap, HeaderName, HeaderValue};

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Replace the request's trace headers by the proxy's hop; returns the trace id (32 hex digits).
pub fn continue_trace(headers: &mut HeaderMap) -> String {
    let incoming = headers
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse);
    // `00-<trace>-<span>-<flags>`, assembled in place: 55 bytes, no intermediate strings.
    let mut value = [0u8; 55];
    value[..3].copy_from_slice(b"00-");
    match incoming {
        Some((trace, flags)) => {
            value[3..35].copy_from_slice(trace.as_bytes());
            value[53..].copy_from_slice(flags.as_bytes());
        }
        None => {
            headers.remove(&TRACESTATE);
            hex_into(&random::<16>(), &mut value[3..35]);
            value[53..].copy_from_slice(b"01");
        }
    }
    value[35] = b'-';
    hex_into(&random::<8>(), &mut value[36..52]);
    value[52] = b'-';
    let trace_id = String::from_utf8_lossy(&value[3..35]).into_owned();
    match HeaderValue::from_bytes(&value) {
        Ok(v) => {
            headers.insert(TRACEPARENT, v);
        }
        Err(_) => {
            headers.remove(&TRACEPARENT);
        }
    }
    trace_id
}

/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower case, ids not all zero; other versions are read
/// by the same first four fields (as the spec asks).
fn parse(value: &str) -> Option<(String, String)> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let ok = lower_hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && lower_hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && lower_hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && lower_hex(flags, 2);
    ok.then(|| (trace.to_string(), flags.to_string()))
}

/// Ids are identifiers, not secrets: they come from a per-thread wyrand generator seeded once from the system's
/// randomness, not from the DRBG (whose reseeding and locking cost more per request than the rest of this module).
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(8) {
        let word = next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    if bytes.iter().all(|b| *b == 0) {
        // Never all zeros (an invalid id).
        bytes[N - 1] = 1;
    }
    bytes
}

thread_local! {
    static GENERATOR: std::cell::Cell<u64> = std::cell::Cell::new(seed());
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // No randomness: the clock and the thread tell generators apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let thread = std::thread::current().id();
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&(nanos, thread), &mut hasher);
        return std::hash::Hasher::finish(&hasher);
    }
    u64::from_le_bytes(bytes)
}

/// wyrand: a 64-bit state stepped by a constant, mixed by one 128-bit multiply.
fn next_u64() -> u64 {
    GENERATOR.with(|state| {
        let x = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

/// Lower-case hex of `bytes` into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_keeps_its_trace_and_gets_the_proxys_span() {
        let mut h = HeaderMap::new();
        h.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        h.insert(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
        let trace = continue_trace(&mut h);
        assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        let sent = h[&TRACEPARENT].to_str().expect("ascii");
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && sent.ends_with("-01"),
            "{sent}"
        );
        assert!(
            !sent.contains("00f067aa0ba902b7"),
            "the proxy's own span is the parent: {sent}"
        );
        assert_eq!(h[&TRACESTATE], "congo=t61rcWkgMzE");
    }

    #[test]
    fn a_missing_or_malformed_traceparent_starts_a_new_trace() {
        for bad in [
            None,
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            Some("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("garbage"),
        ] {
            let mut h = HeaderMap::new();
            if let Some(b) = bad {
                h.insert(TRACEPARENT, HeaderValue::from_static(b));
                h.insert(TRACESTATE, HeaderValue::from_static("a=b"));
            }
            let trace = continue_trace(&mut h);
            assert_eq!(trace.len(), 32);
            let sent = h[&TRACEPARENT].to_str().expect("ascii").to_string();
            assert!(parse(&sent).is_some(), "{sent}");
            assert!(!h.contains_key(&TRACESTATE), "{bad:?}");
            if let Some(b) = bad {
                assert!(!b.contains(&trace), "{b}");
            }
        }
    }

    #[test]
    fn new_ids_do_not_repeat_within_or_across_threads() {
        let ids = |n: usize| (0..n).map(|_| hex(&random::<16>())).collect::<Vec<_>>();
        let mut seen: std::collections::HashSet<String> = ids(10_000).into_iter().collect();
        assert_eq!(seen.len(), 10_000);
        let other = std::thread::spawn(move || ids(1_000))
            .join()
            .expect("thread");
        seen.extend(other);
        assert_eq!(
            seen.len(),
            11_000,
            "another thread's generator is seeded apart"
        );
        assert!(seen.iter().all(|id| id.bytes().any(|b| b != b'0')));
    }
}
