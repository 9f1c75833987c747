//! A hostile-token corpus through the real proxy (rules B2–B4, B7, B8, C1–C11, H1–H5, H9).
//!
//! One world, one proxy, one table. Every row names what is sent, the exact status, the exact `error=` code of the
//! challenge (`None`: the bare RFC 6750 challenge) and, where it matters, the check that must have refused it (so a
//! row cannot pass by being refused for an accidental reason). Every row also checks that the answer never echoes
//! the token, a part of it or a value decoded from it, and that the upstream saw nothing (H9). All mismatches are
//! collected and reported together. A second table of controls proves the same transport does forward what is
//! valid, so the refusals are not vacuous.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fhir_jwt_proxy::demo::issuer::{sign_compact, SigningKey};
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::proxy::unix_now;
use fhir_jwt_proxy::server::Running;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

const TOKEN: Option<&str> = Some("invalid_token");
const REQUEST: Option<&str> = Some("invalid_request");
const BARE: Option<&str> = None;
/// What every row asks for: the portal user's own Patient (a valid portal token reads it: 200).
const PATH: &str = "/Patient/123";

/// What a row sends.
enum Sent {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: <exactly these bytes>`.
    Authorization(Vec<u8>),
    /// These headers, in order (`reqwest` appends: two `authorization` entries are two header lines).
    Headers(Vec<(&'static str, Vec<u8>)>),
    /// Another path and query, with an optional bearer token.
    Url(String, Option<String>),
}

/// (name, what is sent, status, `error=` code, a fragment the challenge must contain or "").
type Row = (String, Sent, u16, Option<&'static str>, &'static str);

fn r(name: &str, sent: Sent, status: u16, error: Option<&'static str>, why: &'static str) -> Row {
    (name.to_string(), sent, status, error, why)
}

fn bearer(token: impl Into<String>) -> Sent {
    Sent::Bearer(token.into())
}

fn raw(value: impl Into<Vec<u8>>) -> Sent {
    Sent::Authorization(value.into())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64(header).b64(payload).<signature as given>`: no signing at all.
fn unsigned(header: &str, payload: &str, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.as_bytes()),
        b64(payload.as_bytes())
    )
}

/// A JWS over exactly these header and payload bytes, signed by `key` with `alg`.
fn signed_raw(key: &SigningKey, alg: Alg, header: &[u8], payload: &[u8]) -> String {
    sign_compact(key, alg, header, payload)
}

fn signed(key: &SigningKey, alg: Alg, header: &Value, claims: &Value) -> String {
    signed_raw(
        key,
        alg,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

/// An HMAC "JWS" keyed with `secret` (the key-confusion attack: public key bytes used as a shared secret).
fn hmac_signed(
    alg_name: &str,
    algorithm: hmac::Algorithm,
    secret: &[u8],
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = json!({"alg": alg_name, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// The standard header of provider A's RSA key, with `extra` members added or replaced.
fn header_with(extra: Value) -> Value {
    let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"});
    if let (Some(h), Value::Object(extra)) = (header.as_object_mut(), extra) {
        h.extend(extra);
    }
    header
}

fn with(claims: &Value, name: &str, value: Value) -> Value {
    let mut c = claims.clone();
    c[name] = value;
    c
}

fn without(claims: &Value, name: &str) -> Value {
    let mut c = claims.clone();
    if let Some(map) = c.as_object_mut() {
        map.remove(name);
    }
    c
}

/// The JSON text of `claims` with `member` (raw JSON text, e.g. a duplicate name) appended inside the object.
fn appended(claims: &Value, member: &str) -> String {
    let text = claims.to_string();
    let body = text.strip_suffix('}').unwrap_or(&text);
    format!("{body},{member}}}")
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.').map(str::to_string);
    (
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    )
}

/// A listener nobody should ever connect to: the target of `jku`/`x5u`/URL-shaped `kid`s (B4, B7).
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind trap");
    let addr = listener.local_addr().expect("trap address");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), hits)
}

async fn deliver(p: &Running, sent: &Sent) -> Answer {
    let auth = |t: &str| ("authorization", format!("Bearer {t}").into_bytes());
    let (path, headers): (String, Vec<(&str, Vec<u8>)>) = match sent {
        Sent::Bearer(t) => (PATH.to_string(), vec![auth(t)]),
        Sent::Authorization(v) => (PATH.to_string(), vec![("authorization", v.clone())]),
        Sent::Headers(h) => (PATH.to_string(), h.clone()),
        Sent::Url(path, t) => (path.clone(), t.iter().map(|t| auth(t)).collect()),
    };
    let mut req = client().get(url(p, &path));
    for (name, value) in headers {
        let value = reqwest::header::HeaderValue::from_bytes(&value)
            .expect("a header value reqwest can send");
        req = req.header(name, value);
    }
    answer(req.send().await.expect("the proxy answers")).await
}

/// Strings an answer must never contain: the credential as sent, every long base64url run of it, and every
/// longer string value of a JSON header or payload decoded from it (descriptions never copy token values).
fn secrets(sent: &Sent) -> Vec<String> {
    let material: Vec<String> = match sent {
        Sent::Bearer(t) => vec![t.clone()],
        Sent::Authorization(v) => vec![String::from_utf8_lossy(v).into_owned()],
        Sent::Headers(h) => h
            .iter()
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect(),
        Sent::Url(path, t) => path
            .split_once('?')
            .map(|(_, q)| q.to_string())
            .into_iter()
            .chain(t.clone())
            .collect(),
    };
    let mut out = Vec::new();
    for m in material {
        for run in m.split(|c: char| !(c.is_ascii_alphanumeric() || "-_~+/".contains(c))) {
            if run.len() >= 16 {
                out.push(run.to_string());
            }
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(run) {
                if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                    collect_strings(&v, &mut out);
                }
            }
        }
        if m.len() >= 16 {
            out.push(m);
        }
    }
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 10 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Send every row; return one line per row that did not get exactly the expected answer.
async fn run(w: &World, p: &Running, rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, sent, status, error, why) in rows {
        let before = w.upstream.count();
        let a = deliver(p, sent).await;
        let forwarded = w.upstream.count() - before;
        let mut wrong = Vec::new();
        if a.status != *status {
            wrong.push(format!("status {} (want {status})", a.status));
        }
        if a.error_code().as_deref() != *error {
            wrong.push(format!("error {:?} (want {error:?})", a.error_code()));
        }
        if !why.is_empty() && !a.challenge.contains(why) {
            wrong.push(format!("challenge {:?} does not name {why:?}", a.challenge));
        }
        let want_forwarded = usize::from(*status == 200);
        if forwarded != want_forwarded {
            wrong.push(format!(
                "upstream received {forwarded} request(s) (want {want_forwarded})"
            ));
        }
        if *status != 200 {
            let issue = match (status, error) {
                (401, None) => &["login"][..],
                (400, _) => &["invalid"][..],
                _ => &["unknown", "expired"][..],
            };
            if !issue.contains(&a.issue_code()) {
                wrong.push(format!("issue code {:?} (want {issue:?})", a.issue_code()));
            }
            if a.headers.get("cache-control").and_then(|v| v.to_str().ok()) != Some("no-store") {
                wrong.push("refusal without Cache-Control: no-store".to_string());
            }
        }
        let body = a.body.to_string();
        for s in secrets(sent) {
            if a.challenge.contains(&s) || body.contains(&s) {
                let shown: String = s.chars().take(24).collect();
                wrong.push(format!("the answer echoes {shown:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{name}: {}", wrong.join("; ")));
        }
    }
    failures
}

#[tokio::test]
async fn c2_b4_h3_hostile_token_corpus() {
    let w = World::new().await;
    let p = w.proxy().await;
    let (trap, trap_hits) = trap().await;
    let a = &w.smart_a;
    let now = unix_now();
    let claims = w.portal_claims();
    let valid = w.portal_token();
    let (vh, vp, vs) = parts(&valid);
    let rs = |header: Value, c: &Value| signed(&a.rsa, Alg::RS256, &header, c);
    let rs_raw = |header: &str, payload: &str| {
        signed_raw(&a.rsa, Alg::RS256, header.as_bytes(), payload.as_bytes())
    };
    let std_header = header_with(json!({}));
    let claims_text = claims.to_string();
    let attacker = SigningKey::generate(Alg::RS256, "attacker-1").expect("attacker RSA key");
    let attacker_ec = SigningKey::generate(Alg::ES256, "ec-1").expect("attacker EC key");
    let jwk_secret = a.rsa.jwk().to_string();
    let jwks_secret = json!({"keys": [a.rsa.jwk(), a.ec.jwk()]}).to_string();
    let modulus = a.rsa.jwk()["n"].as_str().unwrap_or_default().to_string();
    let other = a.mint(&with(&claims, "sub", json!("user-2")));
    let (_, _, other_sig) = parts(&other);
    let tampered = b64(with(&claims, "fhirUser", json!("Patient/999"))
        .to_string()
        .as_bytes());
    // The last signature character with one of its 4 unused low bits flipped: same bytes if decoded leniently.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = vs.bytes().last().unwrap_or(b'A');
    let index = ALPHABET.iter().position(|c| *c == last).unwrap_or(0);
    let non_canonical = format!("{}{}", &vs[..vs.len() - 1], char::from(ALPHABET[index ^ 1]));
    let junk: String = "!#$%&'()*+,-./:;<=>?@[]^_`{|}~\"\\ab\u{7f}é"
        .chars()
        .cycle()
        .take(10_000)
        .collect();
    let depth_bomb = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    let none_header = |alg: &str| json!({"alg": alg, "typ": "JWT", "kid": "rsa-1"}).to_string();
    let none_empty = |alg: &str| unsigned(&none_header(alg), &claims_text, "");
    let none_signed = |alg: &str| rs_raw(&none_header(alg), &claims_text);

    let rows: Vec<Row> = vec![
        // C2: `none`, in every spelling, without and with a (real RSA) signature.
        r(
            "alg none, empty signature",
            bearer(none_empty("none")),
            401,
            TOKEN,
            "signature is missing",
        ),
        r(
            "alg None, empty signature",
            bearer(none_empty("None")),
            401,
            TOKEN,
            "signature is missing",
        ),
        r(
            "alg NONE, empty signature",
            bearer(none_empty("NONE")),
            401,
            TOKEN,
            "signature is missing",
        ),
        r(
            "alg nOnE, empty signature",
            bearer(none_empty("nOnE")),
            401,
            TOKEN,
            "signature is missing",
        ),
        r(
            "alg none, real signature",
            bearer(none_signed("none")),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg None, real signature",
            bearer(none_signed("None")),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg NONE, real signature",
            bearer(none_signed("NONE")),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        // C2: exact names only, and nothing outside the allow-list.
        r(
            "alg rs256 (lowercase)",
            bearer(rs(header_with(json!({"alg": "rs256"})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg 'RS256 ' (trailing space)",
            bearer(rs(header_with(json!({"alg": "RS256 "})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg ES512",
            bearer(rs(header_with(json!({"alg": "ES512"})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg EdDSA",
            bearer(rs(header_with(json!({"alg": "EdDSA"})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg missing",
            bearer(rs(json!({"typ": "JWT", "kid": "rsa-1"}), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg null",
            bearer(rs(header_with(json!({"alg": null})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "alg as an array",
            bearer(rs(header_with(json!({"alg": ["RS256"]})), &claims)),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        // C2: key confusion, the public key used as an HMAC secret.
        r(
            "HS256 keyed with the RSA JWK",
            bearer(hmac_signed(
                "HS256",
                hmac::HMAC_SHA256,
                jwk_secret.as_bytes(),
                Some("rsa-1"),
                &claims,
            )),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "HS384 keyed with the RSA JWK",
            bearer(hmac_signed(
                "HS384",
                hmac::HMAC_SHA384,
                jwk_secret.as_bytes(),
                Some("rsa-1"),
                &claims,
            )),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "HS512 keyed with the RSA JWK",
            bearer(hmac_signed(
                "HS512",
                hmac::HMAC_SHA512,
                jwk_secret.as_bytes(),
                Some("rsa-1"),
                &claims,
            )),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "HS256 keyed with the JWKS document, no kid",
            bearer(hmac_signed(
                "HS256",
                hmac::HMAC_SHA256,
                jwks_secret.as_bytes(),
                None,
                &claims,
            )),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        r(
            "HS256 keyed with the modulus n",
            bearer(hmac_signed(
                "HS256",
                hmac::HMAC_SHA256,
                modulus.as_bytes(),
                Some("rsa-1"),
                &claims,
            )),
            401,
            TOKEN,
            "alg is not in the allow-list",
        ),
        // B8: alg and key type must fit.
        r(
            "RS256 signature, header ES256 with the RSA kid",
            bearer(rs(header_with(json!({"alg": "ES256"})), &claims)),
            401,
            TOKEN,
            "does not fit alg",
        ),
        r(
            "ES256 signature, header RS256 with the EC kid",
            bearer(signed(
                &a.ec,
                Alg::ES256,
                &header_with(json!({"alg": "RS256", "kid": "ec-1"})),
                &claims,
            )),
            401,
            TOKEN,
            "does not fit alg",
        ),
        r(
            "PS256 with the RS256-only JWK",
            bearer(signed(
                &a.rsa,
                Alg::PS256,
                &header_with(json!({"alg": "PS256"})),
                &claims,
            )),
            401,
            TOKEN,
            "does not fit alg",
        ),
        r(
            "ES384 header on the P-256 key",
            bearer(signed(
                &a.ec,
                Alg::ES256,
                &header_with(json!({"alg": "ES384", "kid": "ec-1"})),
                &claims,
            )),
            401,
            TOKEN,
            "does not fit alg",
        ),
        r(
            "ES256 with the real EC kid, attacker's EC key",
            bearer(signed(
                &attacker_ec,
                Alg::ES256,
                &header_with(json!({"alg": "ES256", "kid": "ec-1"})),
                &claims,
            )),
            401,
            TOKEN,
            "signature is invalid",
        ),
        // B7: kid is an opaque, exact, bounded lookup key.
        r(
            "kid path traversal",
            bearer(rs(header_with(json!({"kid": "../../etc/passwd"})), &claims)),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid SQL injection",
            bearer(rs(header_with(json!({"kid": "' OR 1=1 --"})), &claims)),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid is a URL of the trap",
            bearer(rs(
                header_with(json!({"kid": format!("{trap}/jwks")})),
                &claims,
            )),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid rsa-1 with a NUL byte",
            bearer(rs(header_with(json!({"kid": "rsa-1\u{0}"})), &claims)),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid RSA-1 (case differs)",
            bearer(rs(header_with(json!({"kid": "RSA-1"})), &claims)),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid of 256 characters",
            bearer(rs(header_with(json!({"kid": "k".repeat(256)})), &claims)),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "kid of 257 characters",
            bearer(rs(header_with(json!({"kid": "k".repeat(257)})), &claims)),
            401,
            TOKEN,
            "kid is not a short string",
        ),
        r(
            "kid of 10 kB junk",
            bearer(rs(header_with(json!({"kid": junk})), &claims)),
            401,
            TOKEN,
            "kid is not a short string",
        ),
        r(
            "kid empty",
            bearer(rs(header_with(json!({"kid": ""})), &claims)),
            401,
            TOKEN,
            "kid is not a short string",
        ),
        r(
            "kid a number",
            bearer(rs(header_with(json!({"kid": 1})), &claims)),
            401,
            TOKEN,
            "kid is not a short string",
        ),
        r(
            "kid null",
            bearer(rs(header_with(json!({"kid": null})), &claims)),
            401,
            TOKEN,
            "kid is not a short string",
        ),
        r(
            "no kid, issuer has two keys",
            bearer(rs(json!({"alg": "RS256", "typ": "JWT"}), &claims)),
            401,
            TOKEN,
            "no kid and the issuer has more than one",
        ),
        // B4: jku, x5u, jwk, x5c are never read (the trap must see no connection).
        r(
            "jku at the trap, attacker key and kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"kid": "attacker-1", "jku": format!("{trap}/jwks")})),
                &claims,
            )),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "jku at the trap, attacker key, real kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"jku": format!("{trap}/jwks")})),
                &claims,
            )),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "x5u at the trap, attacker key and kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"kid": "attacker-1", "x5u": format!("{trap}/cert.pem")})),
                &claims,
            )),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "embedded jwk, attacker key and kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"kid": "attacker-1", "jwk": attacker.jwk()})),
                &claims,
            )),
            401,
            TOKEN,
            "kid matches no signing key",
        ),
        r(
            "embedded jwk, attacker key, real kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"jwk": attacker.jwk()})),
                &claims,
            )),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "embedded jwk, attacker key, no kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &json!({"alg": "RS256", "jwk": attacker.jwk()}),
                &claims,
            )),
            401,
            TOKEN,
            "no kid and the issuer has more than one",
        ),
        r(
            "x5c junk, attacker key, real kid",
            bearer(signed(
                &attacker,
                Alg::RS256,
                &header_with(json!({"x5c": ["MIIjunk==", "not base64!"]})),
                &claims,
            )),
            401,
            TOKEN,
            "signature is invalid",
        ),
        // C3, C4.
        r(
            "crit [exp]",
            bearer(rs(header_with(json!({"crit": ["exp"]})), &claims)),
            401,
            TOKEN,
            "crit header",
        ),
        r(
            "crit [] (empty)",
            bearer(rs(header_with(json!({"crit": []})), &claims)),
            401,
            TOKEN,
            "crit header",
        ),
        r(
            "crit [b64] with b64 false",
            bearer(rs(
                header_with(json!({"crit": ["b64"], "b64": false})),
                &claims,
            )),
            401,
            TOKEN,
            "crit header",
        ),
        r(
            "typ JWE",
            bearer(rs(header_with(json!({"typ": "JWE"})), &claims)),
            401,
            TOKEN,
            "typ is not an accepted",
        ),
        r(
            "typ a number",
            bearer(rs(header_with(json!({"typ": 1})), &claims)),
            401,
            TOKEN,
            "typ is not an accepted",
        ),
        // C1: exactly three parts.
        r(
            "JWE (5 parts)",
            bearer(format!(
                "{}.{}.{}.{}.{}",
                b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#),
                b64(b"encrypted-key-bytes"),
                b64(b"iv-bytes-here"),
                b64(b"ciphertext"),
                b64(b"tag")
            )),
            401,
            TOKEN,
            "JWE (5 parts)",
        ),
        r(
            "2 parts",
            bearer(format!("{vh}.{vp}")),
            401,
            TOKEN,
            "exactly 3 parts",
        ),
        r(
            "4 parts",
            bearer(format!("{valid}.{vs}")),
            401,
            TOKEN,
            "exactly 3 parts",
        ),
        r("1 part", bearer(vh.clone()), 401, TOKEN, "exactly 3 parts"),
        r(
            "only dots",
            bearer(".."),
            401,
            TOKEN,
            "signature is missing",
        ),
        r(
            "signature stripped",
            bearer(format!("{vh}.{vp}.")),
            401,
            TOKEN,
            "signature is missing",
        ),
        // C1, H1: base64url and the b64token syntax.
        r(
            "header with '+' (base64, not base64url)",
            bearer(format!("+{}.{vp}.{vs}", &vh[1..])),
            401,
            TOKEN,
            "header is not base64url",
        ),
        r(
            "payload with '/' (base64, not base64url)",
            bearer(format!("{vh}./{}.{vs}", &vp[1..])),
            401,
            TOKEN,
            "payload is not base64url",
        ),
        r(
            "header with '~'",
            bearer(format!("~{}.{vp}.{vs}", &vh[1..])),
            401,
            TOKEN,
            "header is not base64url",
        ),
        r(
            "token with '!'",
            bearer(format!("{vh}!.{vp}.{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "token with '%'",
            bearer(format!("{vh}.{vp}%2E.{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "padding '=' inside the header part",
            bearer(format!("{vh}=.{vp}.{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "padding '=' inside the payload part",
            bearer(format!("{vh}.{vp}==.{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "signature padded with '=='",
            bearer(format!("{valid}==")),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "signature with non-canonical trailing bits",
            bearer(format!("{vh}.{vp}.{non_canonical}")),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "space inside the token",
            bearer(format!("{vh}.{vp} .{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "tab inside the token",
            bearer(format!("{vh}.{vp}\t.{vs}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "non-ASCII byte in the token",
            raw([
                b"Bearer ".as_slice(),
                vh.as_bytes(),
                b"\xff.",
                vp.as_bytes(),
                b".",
                vs.as_bytes(),
            ]
            .concat()),
            400,
            REQUEST,
            "not ASCII",
        ),
        // C1, C9: JSON objects, strict.
        r(
            "header not JSON",
            bearer(rs_raw("{alg:RS256,kid:rsa-1}", &claims_text)),
            401,
            TOKEN,
            "header is not JSON",
        ),
        r(
            "header invalid UTF-8",
            bearer(signed_raw(
                &a.rsa,
                Alg::RS256,
                b"{\"alg\":\"RS256\",\"kid\":\"rsa-1\xff\"}",
                claims_text.as_bytes(),
            )),
            401,
            TOKEN,
            "header is not JSON",
        ),
        r(
            "header a JSON array",
            bearer(rs_raw(r#"["RS256","rsa-1"]"#, &claims_text)),
            401,
            TOKEN,
            "header is not a JSON object",
        ),
        r(
            "header a JSON string",
            bearer(rs_raw(r#""RS256""#, &claims_text)),
            401,
            TOKEN,
            "header is not a JSON object",
        ),
        r(
            "payload not JSON",
            bearer(rs_raw(&std_header.to_string(), "not json")),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "payload a JSON string",
            bearer(rs_raw(&std_header.to_string(), r#""Patient/123""#)),
            401,
            TOKEN,
            "payload is not a JSON object",
        ),
        r(
            "payload a JSON array",
            bearer(rs_raw(&std_header.to_string(), &format!("[{claims_text}]"))),
            401,
            TOKEN,
            "payload is not a JSON object",
        ),
        r(
            "payload a number",
            bearer(rs_raw(&std_header.to_string(), "1800000000")),
            401,
            TOKEN,
            "payload is not a JSON object",
        ),
        r(
            "payload with trailing garbage",
            bearer(rs_raw(&std_header.to_string(), &format!("{claims_text}}}"))),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "payload with a BOM",
            bearer(rs_raw(
                &std_header.to_string(),
                &format!("\u{feff}{claims_text}"),
            )),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "payload nested 3000 deep",
            bearer(rs_raw(&std_header.to_string(), &depth_bomb)),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "duplicate aud",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&claims, r#""aud":"fhir-clinic""#),
            )),
            401,
            TOKEN,
            "payload has a duplicate member",
        ),
        r(
            "duplicate exp",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&claims, &format!(r#""exp":{}"#, now + 99_999)),
            )),
            401,
            TOKEN,
            "payload has a duplicate member",
        ),
        r(
            "duplicate aud via a \\u escape",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&claims, r#""\u0061ud":"fhir-clinic""#),
            )),
            401,
            TOKEN,
            "payload has a duplicate member",
        ),
        r(
            "duplicate member nested in a claim",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&claims, r#""cnf":{"jkt":"a","jkt":"b"}"#),
            )),
            401,
            TOKEN,
            "payload has a duplicate member",
        ),
        r(
            "duplicate alg in the header",
            bearer(rs_raw(
                r#"{"alg":"RS256","typ":"JWT","kid":"rsa-1","alg":"none"}"#,
                &claims_text,
            )),
            401,
            TOKEN,
            "header has a duplicate member",
        ),
        // C5–C8: times.
        r(
            "exp 1e400 (not representable)",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&without(&claims, "exp"), r#""exp":1e400"#),
            )),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "iat 1e400 (not representable)",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&without(&claims, "iat"), r#""iat":1e400"#),
            )),
            401,
            TOKEN,
            "payload is not JSON",
        ),
        r(
            "exp a numeric string",
            bearer(a.mint(&with(&claims, "exp", json!((now + 600).to_string())))),
            401,
            TOKEN,
            "exp is not a number",
        ),
        r(
            "exp null",
            bearer(a.mint(&with(&claims, "exp", Value::Null))),
            401,
            TOKEN,
            "exp is not a number",
        ),
        r(
            "exp an array",
            bearer(a.mint(&with(&claims, "exp", json!([now + 600])))),
            401,
            TOKEN,
            "exp is not a number",
        ),
        r(
            "exp an object",
            bearer(a.mint(&with(&claims, "exp", json!({"value": now + 600})))),
            401,
            TOKEN,
            "exp is not a number",
        ),
        r(
            "exp a bool",
            bearer(a.mint(&with(&claims, "exp", json!(true)))),
            401,
            TOKEN,
            "exp is not a number",
        ),
        r(
            "exp missing",
            bearer(a.mint(&without(&claims, "exp"))),
            401,
            TOKEN,
            "exp is missing",
        ),
        r(
            "exp negative",
            bearer(a.mint(&with(&claims, "exp", json!(-1)))),
            401,
            TOKEN,
            "token has expired",
        ),
        r(
            "nbf beyond leeway",
            bearer(a.mint(&with(&claims, "nbf", json!(now + 400)))),
            401,
            TOKEN,
            "not valid yet",
        ),
        r(
            "nbf a string",
            bearer(a.mint(&with(&claims, "nbf", json!("0")))),
            401,
            TOKEN,
            "nbf is not a number",
        ),
        r(
            "iat beyond leeway",
            bearer(a.mint(&with(&claims, "iat", json!(now + 400)))),
            401,
            TOKEN,
            "iat is in the future",
        ),
        // C10, D1–D4: claim types and empty strings.
        r(
            "aud a number",
            bearer(a.mint(&with(&claims, "aud", json!(1)))),
            401,
            TOKEN,
            "aud is missing or not a string",
        ),
        r(
            "aud an object",
            bearer(a.mint(&with(&claims, "aud", json!({"aud": "fhir-api"})))),
            401,
            TOKEN,
            "aud is missing or not a string",
        ),
        r(
            "aud array with a non-string",
            bearer(a.mint(&with(&claims, "aud", json!(["fhir-api", 7])))),
            401,
            TOKEN,
            "aud is missing or not a string",
        ),
        r(
            "aud empty array",
            bearer(a.mint(&with(&claims, "aud", json!([])))),
            401,
            TOKEN,
            "aud is missing or not a string",
        ),
        r(
            "aud empty string",
            bearer(a.mint(&with(&claims, "aud", json!("")))),
            401,
            TOKEN,
            "aud does not match application portal",
        ),
        r(
            "azp a number",
            bearer(a.mint(&with(&claims, "azp", json!(1)))),
            401,
            TOKEN,
            "azp is not a string",
        ),
        r(
            "azp an object",
            bearer(a.mint(&with(&claims, "azp", json!({"id": "portal"})))),
            401,
            TOKEN,
            "azp is not a string",
        ),
        r(
            "azp an array",
            bearer(a.mint(&with(&claims, "azp", json!(["portal"])))),
            401,
            TOKEN,
            "azp is not a string",
        ),
        r(
            "azp empty string",
            bearer(a.mint(&with(&claims, "azp", json!("")))),
            401,
            TOKEN,
            "matches no application",
        ),
        r(
            "azp of another provider's application",
            bearer(a.mint(&with(
                &with(&claims, "azp", json!("sched")),
                "aud",
                json!("fhir-sched"),
            ))),
            401,
            TOKEN,
            "matches no application",
        ),
        r(
            "scp a number",
            bearer(a.mint(&with(&claims, "scp", json!(1)))),
            401,
            TOKEN,
            "scp is not a string",
        ),
        r(
            "scp an object",
            bearer(a.mint(&with(&claims, "scp", json!({"patient/*.read": true})))),
            401,
            TOKEN,
            "scp is not a string",
        ),
        r(
            "scp array with a non-string",
            bearer(a.mint(&with(&claims, "scp", json!(["patient/*.read", 1])))),
            401,
            TOKEN,
            "scp is not a string",
        ),
        r(
            "scp empty string",
            bearer(a.mint(&with(&claims, "scp", json!("")))),
            401,
            TOKEN,
            "scp is missing",
        ),
        r(
            "fhirUser empty string",
            bearer(a.mint(&with(&claims, "fhirUser", json!("")))),
            401,
            TOKEN,
            "fhirUser is not a reference",
        ),
        r(
            "fhirUser a number",
            bearer(a.mint(&with(&claims, "fhirUser", json!(123)))),
            401,
            TOKEN,
            "fhirUser is not a reference",
        ),
        r(
            "sub with CRLF (header injection)",
            bearer(a.mint(&with(&claims, "sub", json!("u\r\nX-Fhir-User: Patient/1")))),
            401,
            TOKEN,
            "sub is not a string",
        ),
        // B2, B3: issuer.
        r(
            "iss with a trailing slash",
            bearer(a.mint(&with(&claims, "iss", json!(format!("{}/", a.issuer()))))),
            401,
            TOKEN,
            "iss is not a trusted issuer",
        ),
        r(
            "iss in upper case",
            bearer(a.mint(&with(&claims, "iss", json!(a.issuer().to_uppercase())))),
            401,
            TOKEN,
            "iss is not a trusted issuer",
        ),
        r(
            "iss unconfigured",
            bearer(a.mint(&with(
                &claims,
                "iss",
                json!("https://evil.example/realms/a"),
            ))),
            401,
            TOKEN,
            "iss is not a trusted issuer",
        ),
        r(
            "iss empty string",
            bearer(a.mint(&with(&claims, "iss", json!("")))),
            401,
            TOKEN,
            "iss is not a trusted issuer",
        ),
        r(
            "iss missing",
            bearer(a.mint(&without(&claims, "iss"))),
            401,
            TOKEN,
            "iss is missing",
        ),
        r(
            "iss a number",
            bearer(a.mint(&with(&claims, "iss", json!(42)))),
            401,
            TOKEN,
            "iss is missing",
        ),
        r(
            "iss an array",
            bearer(a.mint(&with(&claims, "iss", json!([a.issuer()])))),
            401,
            TOKEN,
            "iss is missing",
        ),
        // C2: signatures.
        r(
            "valid signature over a tampered payload",
            bearer(format!("{vh}.{tampered}.{vs}")),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "signature of another token",
            bearer(format!("{vh}.{vp}.{other_sig}")),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "provider A's claims signed with B's key (same kid)",
            bearer(w.smart_b.mint(&claims)),
            401,
            TOKEN,
            "signature is invalid",
        ),
        r(
            "provider B's issuer signed with A's key",
            bearer(a.mint(&with(
                &with(
                    &with(&claims, "iss", json!(w.smart_b.issuer())),
                    "azp",
                    json!("sched"),
                ),
                "aud",
                json!("fhir-sched"),
            ))),
            401,
            TOKEN,
            "signature is invalid",
        ),
        // C11.
        r(
            "token of 20 kB",
            bearer(a.mint(&with(&claims, "padding", json!("x".repeat(15_000))))),
            401,
            TOKEN,
            "maximum size",
        ),
        r(
            "token one byte over 16 KiB",
            bearer(sized_token(&w, &claims, 16 * 1024 + 1)),
            401,
            TOKEN,
            "maximum size",
        ),
        // H1, H2: transport.
        r(
            "two Authorization headers",
            Sent::Headers(vec![
                ("authorization", format!("Bearer {valid}").into_bytes()),
                ("authorization", format!("Bearer {valid}").into_bytes()),
            ]),
            400,
            REQUEST,
            "more than one Authorization header",
        ),
        r(
            "Bearer and Basic headers",
            Sent::Headers(vec![
                ("authorization", format!("Bearer {valid}").into_bytes()),
                ("authorization", b"Basic dXNlcjpwYXNz".to_vec()),
            ]),
            400,
            REQUEST,
            "more than one Authorization header",
        ),
        r(
            "two tokens in one comma-joined header",
            raw(format!("Bearer {valid}, Bearer {valid}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "Bearer without a token",
            raw("Bearer"),
            400,
            REQUEST,
            "without a token",
        ),
        r(
            "Bearer and a space",
            raw("Bearer "),
            400,
            REQUEST,
            "without a token",
        ),
        r(
            "Bearer and spaces",
            raw("Bearer    "),
            400,
            REQUEST,
            "without a token",
        ),
        r(
            "Bearer with two tokens",
            raw(format!("Bearer {valid} {other}")),
            400,
            REQUEST,
            "b64token",
        ),
        r(
            "only '=' as the token",
            raw("Bearer ==="),
            400,
            REQUEST,
            "b64token",
        ),
        r("Basic scheme", raw("Basic dXNlcjpwYXNz"), 401, BARE, ""),
        r(
            "Digest scheme",
            raw(r#"Digest username="u", realm="r", nonce="n", uri="/", response="0""#),
            401,
            BARE,
            "",
        ),
        r(
            "bearerx scheme",
            raw(format!("bearerx {valid}")),
            401,
            BARE,
            "",
        ),
        r("Token scheme", raw(format!("Token {valid}")), 401, BARE, ""),
        r(
            "Bearer and a tab",
            raw(format!("Bearer\t{valid}")),
            401,
            BARE,
            "",
        ),
        r(
            "Bearer: with a colon",
            raw(format!("Bearer:{valid}")),
            401,
            BARE,
            "",
        ),
        r(
            "bare token without a scheme",
            raw(valid.clone()),
            401,
            BARE,
            "",
        ),
        r("empty Authorization header", raw(""), 401, BARE, ""),
        r(
            "access_token in the query, no header",
            Sent::Url(format!("{PATH}?access_token={valid}"), None),
            400,
            REQUEST,
            "access_token in the query",
        ),
        r(
            "access_token in the query and the header",
            Sent::Url(
                format!("{PATH}?_format=json&access_token={valid}"),
                Some(valid.clone()),
            ),
            400,
            REQUEST,
            "access_token in the query",
        ),
        r(
            "percent-encoded access%5Ftoken in the query, no header",
            Sent::Url(format!("{PATH}?access%5Ftoken={valid}"), None),
            400,
            REQUEST,
            "access_token in the query",
        ),
        r(
            "percent-encoded %61ccess_token in the query with a header",
            Sent::Url(
                format!("{PATH}?%61ccess_token={valid}"),
                Some(valid.clone()),
            ),
            400,
            REQUEST,
            "access_token in the query",
        ),
        r(
            "access_token after a ; separator with a header",
            Sent::Url(
                format!("{PATH}?a=1;access_token={valid}"),
                Some(valid.clone()),
            ),
            400,
            REQUEST,
            "access_token in the query",
        ),
        r(
            "token in a cookie only",
            Sent::Headers(vec![(
                "cookie",
                format!("access_token={valid}").into_bytes(),
            )]),
            401,
            BARE,
            "",
        ),
        r(
            "token in a custom header only",
            Sent::Headers(vec![("x-access-token", valid.clone().into_bytes())]),
            401,
            BARE,
            "",
        ),
        r(
            "token in Proxy-Authorization only",
            Sent::Headers(vec![(
                "proxy-authorization",
                format!("Bearer {valid}").into_bytes(),
            )]),
            401,
            BARE,
            "",
        ),
    ];

    let mut failures = run(&w, &p, &rows).await;
    if w.upstream.count() != 0 {
        failures.push(format!(
            "H9: the upstream received {} request(s) during the hostile table",
            w.upstream.count()
        ));
    }

    // Controls: the same transport forwards what is valid. Ignored headers stay ignored (B4), bearer is
    // case-insensitive with 1*SP (H1), a far-future finite `exp` is a number like any other, and the size limit
    // is inclusive (C11).
    let controls: Vec<Row> = vec![
        r(
            "lowercase bearer",
            raw(format!("bearer {valid}")),
            200,
            BARE,
            "",
        ),
        r("BEARER", raw(format!("BEARER {valid}")), 200, BARE, ""),
        r(
            "Bearer and two spaces",
            raw(format!("Bearer  {valid}")),
            200,
            BARE,
            "",
        ),
        r(
            "jku at the trap, real key: ignored",
            bearer(rs(
                header_with(json!({"jku": format!("{trap}/jwks")})),
                &claims,
            )),
            200,
            BARE,
            "",
        ),
        r(
            "x5u at the trap, real key: ignored",
            bearer(rs(
                header_with(json!({"x5u": format!("{trap}/cert.pem")})),
                &claims,
            )),
            200,
            BARE,
            "",
        ),
        r(
            "embedded attacker jwk, real key: ignored",
            bearer(rs(header_with(json!({"jwk": attacker.jwk()})), &claims)),
            200,
            BARE,
            "",
        ),
        r(
            "x5c junk, real key: ignored",
            bearer(rs(header_with(json!({"x5c": ["MIIjunk=="]})), &claims)),
            200,
            BARE,
            "",
        ),
        r(
            "exp 1e300 (finite, far future)",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(&without(&claims, "exp"), r#""exp":1e300"#),
            )),
            200,
            BARE,
            "",
        ),
        r(
            "exp 1e23 written as an integer",
            bearer(rs_raw(
                &std_header.to_string(),
                &appended(
                    &without(&claims, "exp"),
                    r#""exp":100000000000000000000000"#,
                ),
            )),
            200,
            BARE,
            "",
        ),
        r(
            "exp as a float",
            bearer(a.mint(&with(&claims, "exp", json!(now as f64 + 600.5)))),
            200,
            BARE,
            "",
        ),
        r(
            "nbf within leeway",
            bearer(a.mint(&with(&claims, "nbf", json!(now + 200)))),
            200,
            BARE,
            "",
        ),
        r(
            "typ at+jwt",
            bearer(rs(header_with(json!({"typ": "at+jwt"})), &claims)),
            200,
            BARE,
            "",
        ),
        r(
            "token of exactly 16 KiB",
            bearer(sized_token(&w, &claims, 16 * 1024)),
            200,
            BARE,
            "",
        ),
    ];
    let forwarded_before = w.upstream.count();
    failures.extend(run(&w, &p, &controls).await);
    if w.upstream.count() != forwarded_before + controls.len() {
        failures.push(format!(
            "the controls forwarded {} request(s) (want {})",
            w.upstream.count() - forwarded_before,
            controls.len()
        ));
    }

    // B4: nothing ever connected to the jku/x5u/kid target (give a stray background fetch a moment).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hits = trap_hits.load(Ordering::SeqCst);
    if hits != 0 {
        failures.push(format!(
            "B4: the jku/x5u trap received {hits} connection(s)"
        ));
    }

    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len() + controls.len(),
        failures.join("\n")
    );
    assert!(rows.len() >= 60, "the corpus has {} rows", rows.len());

    // The final control: a plain valid token is forwarded (so this test can fail at all).
    let before = w.upstream.count();
    let answer = get(&p, PATH, Some(&valid)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(w.upstream.count(), before + 1);
}

/// A valid portal token whose `Authorization` header value (`Bearer ` + token) is exactly `header_len` bytes:
/// a `pad` claim in the payload and a `pad` member in the header are sized until the lengths add up.
fn sized_token(w: &World, claims: &Value, header_len: usize) -> String {
    let signature_len = parts(&w.portal_token()).2.len();
    for header_pad in 0..4 {
        let header = header_with(json!({"pad": "h".repeat(header_pad)}));
        let header_b64 = b64(header.to_string().as_bytes()).len();
        for pad in 0..header_len {
            let c = with(claims, "pad", json!("p".repeat(pad)));
            let total = "Bearer ".len()
                + header_b64
                + 1
                + b64(c.to_string().as_bytes()).len()
                + 1
                + signature_len;
            if total == header_len {
                let token = signed(&w.smart_a.rsa, Alg::RS256, &header, &c);
                assert_eq!("Bearer ".len() + token.len(), header_len);
                return token;
            }
            if total > header_len {
                break;
            }
        }
    }
    panic!("no token of exactly {header_len} header bytes");
}

/// Send `head` (a whole HTTP/1.1 request head) on a fresh connection; the status and the raw response head.
async fn raw_exchange(p: &Running, head: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(p.addr)
        .await
        .expect("connect to the proxy");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("write the request");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the proxy answers and closes")
        .expect("read the response");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn h1_h5_two_authorization_header_lines_on_the_wire_are_400() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    let head = format!(
        "GET {PATH} HTTP/1.1\r\nHost: fhir\r\nAuthorization: Bearer {t}\r\nauthorization: Bearer {t}\r\nConnection: close\r\n\r\n"
    );
    let (status, text) = raw_exchange(&p, &head).await;
    assert_eq!(status, 400, "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(
        lower.contains(
            "www-authenticate: bearer realm=\"fhir-jwt-proxy\", error=\"invalid_request\""
        ),
        "{text}"
    );
    assert!(!text.contains(&t), "the token is never echoed");
    assert!(!text.contains(parts(&t).2.as_str()), "nor its signature");

    // An obs-folded Authorization header (RFC 9112 §5.2) is refused before it reaches the token checks.
    let (h, pl, s) = parts(&t);
    let folded = format!(
        "GET {PATH} HTTP/1.1\r\nHost: fhir\r\nAuthorization: Bearer {h}.{pl}\r\n .{s}\r\nConnection: close\r\n\r\n"
    );
    let (status, text) = raw_exchange(&p, &folded).await;
    assert_eq!(status, 400, "{text}");
    assert!(!text.contains(&s), "the signature is never echoed");
    assert_eq!(w.upstream.count(), 0);

    // The same request with one header line is forwarded.
    let one = format!(
        "GET {PATH} HTTP/1.1\r\nHost: fhir\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n"
    );
    let (status, text) = raw_exchange(&p, &one).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(w.upstream.count(), 1);
}

#[tokio::test]
async fn b7_q14_c2_kidless_tokens_against_a_single_published_key() {
    let w = World::new().await;
    w.smart_a.publish(vec![w.smart_a.rsa.clone()]);
    let p = w.proxy().await;
    let claims = w.portal_claims();
    let no_kid = json!({"alg": "RS256", "typ": "JWT"});
    let secret = w.smart_a.rsa.jwk().to_string();
    let refused = [
        (
            "HS256 keyed with the only JWK, no kid",
            hmac_signed("HS256", hmac::HMAC_SHA256, secret.as_bytes(), None, &claims),
            "alg is not in the allow-list",
        ),
        (
            "none, no kid, real signature",
            signed(
                &w.smart_a.rsa,
                Alg::RS256,
                &json!({"alg": "none", "typ": "JWT"}),
                &claims,
            ),
            "alg is not in the allow-list",
        ),
        (
            "ES256 header, no kid, RSA signature",
            signed(
                &w.smart_a.rsa,
                Alg::RS256,
                &json!({"alg": "ES256", "typ": "JWT"}),
                &claims,
            ),
            "does not fit alg",
        ),
        (
            "no kid, another provider's key",
            signed(&w.smart_b.rsa, Alg::RS256, &no_kid, &claims),
            "signature is invalid",
        ),
    ];
    for (name, token, why) in &refused {
        let a = get(&p, PATH, Some(token)).await;
        assert_eq!(
            (a.status, a.error_code().as_deref()),
            (401, Some("invalid_token")),
            "{name}"
        );
        assert!(a.challenge.contains(why), "{name}: {}", a.challenge);
        assert!(!a.challenge.contains(token.as_str()), "{name}");
    }
    assert_eq!(w.upstream.count(), 0);
    let ok = signed(&w.smart_a.rsa, Alg::RS256, &no_kid, &claims);
    assert_eq!(status(&p, PATH, Some(&ok)).await, 200, "Q14: one key");
    assert_eq!(w.upstream.count(), 1);
}
