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
    let (trace_id, flags) = match incoming {
        Some((trace, flags)) => (trace, flags),
        None => {
            headers.remove(&TRACESTATE);
            (hex(&random::<16>()), "01".to_string())
        }
    };
    let span = hex(&random::<8>());
    match HeaderValue::from_str(&format!("00-{trace_id}-{span}-{flags}")) {
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

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() || bytes.iter().all(|b| *b == 0) {
        // Never all zeros (an invalid id); the clock tells traces apart when there is no randomness.
        let nanos = crate::clock::unix_now().to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = nanos[i % 8] | 1;
        }
    }
    bytes
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
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
}
