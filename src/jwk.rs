//! JSON Web Keys without I/O (rules B7, B8, C2, Q14): the algorithms the proxy accepts, the key kinds they need,
//! parsed verification keys, and a JWKS document → [`KeySet`].
//!
//! In: the bytes of a JWKS document and the provider metadata it belongs to. Out: a [`KeySet`] (unusable entries
//! skipped with a reason), or [`JwksError`]. Used by token verification, the token cache, `check`, the demo issuer,
//! and the key refresher in [`crate::keys`], which does the fetching.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaParameters, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED,
    ECDSA_P384_SHA384_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384,
    RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384,
    RSA_PSS_2048_8192_SHA512,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::JwtVerifier;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::config::ProviderMetadata;
use crate::error::TokenError;

/// Why a JWKS document gives no key set.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("{url}: not valid JSON: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{url}: the JWKS holds no usable signing key")]
    NoUsableKeys { url: String },
}

/// C2: the signature algorithms the proxy accepts, chosen by the proxy, never by the token.
/// `none` and every `HS*` are absent on purpose (no shared secrets exist here: key confusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

/// What kind of key an algorithm needs (B8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
}

impl Alg {
    pub const ALL: [Alg; 8] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
    ];

    /// Exact, case-sensitive names (RFC 7518): `rs256` or `None` are not algorithms.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
        }
    }

    pub fn key_kind(self) -> KeyKind {
        match self {
            Alg::ES256 => KeyKind::EcP256,
            Alg::ES384 => KeyKind::EcP384,
            _ => KeyKind::Rsa,
        }
    }

    pub fn jsonwebtoken(self) -> Algorithm {
        match self {
            Alg::RS256 => Algorithm::RS256,
            Alg::RS384 => Algorithm::RS384,
            Alg::RS512 => Algorithm::RS512,
            Alg::PS256 => Algorithm::PS256,
            Alg::PS384 => Algorithm::PS384,
            Alg::PS512 => Algorithm::PS512,
            Alg::ES256 => Algorithm::ES256,
            Alg::ES384 => Algorithm::ES384,
        }
    }
}

/// One usable signing key from a JWKS.
#[derive(Clone)]
pub struct VerificationKey {
    pub kid: Option<String>,
    pub kind: KeyKind,
    /// B8: if the JWK names an `alg`, only that one may be used with it.
    pub alg: Option<Alg>,
    /// The key parsed once for each algorithm it may verify (only the JWK's `alg` when it names one).
    verifiers: Arc<[PreparedVerifier]>,
}

/// A public key decoded and parsed once, for one algorithm: aws-lc-rs keeps the key in its parsed form, so a
/// verification neither decodes the modulus or curve point again nor rebuilds the key. It is what jsonwebtoken's
/// own aws-lc-rs verifiers do per call, done once per key set instead, behind jsonwebtoken's `JwtVerifier` trait.
pub struct PreparedVerifier {
    alg: Alg,
    key: ParsedPublicKey,
}

impl signature::Verifier<Vec<u8>> for PreparedVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.key
            .verify_sig(message, signature)
            .map_err(signature::Error::from_source)
    }
}

impl JwtVerifier for PreparedVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg.jsonwebtoken()
    }
}

impl Alg {
    fn rsa_parameters(self) -> Option<&'static RsaParameters> {
        Some(match self {
            Alg::RS256 => &RSA_PKCS1_2048_8192_SHA256,
            Alg::RS384 => &RSA_PKCS1_2048_8192_SHA384,
            Alg::RS512 => &RSA_PKCS1_2048_8192_SHA512,
            Alg::PS256 => &RSA_PSS_2048_8192_SHA256,
            Alg::PS384 => &RSA_PSS_2048_8192_SHA384,
            Alg::PS512 => &RSA_PSS_2048_8192_SHA512,
            Alg::ES256 | Alg::ES384 => return None,
        })
    }
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish()
    }
}

impl VerificationKey {
    /// The parsed key for `alg`, when this key may verify it.
    pub fn verifier(&self, alg: Alg) -> Option<&dyn JwtVerifier> {
        self.verifiers
            .iter()
            .find(|v| v.alg == alg)
            .map(|v| v as &dyn JwtVerifier)
    }

    fn fits(&self, alg: Alg) -> bool {
        self.kind == alg.key_kind() && self.alg.is_none_or(|a| a == alg)
    }

    /// For `check`: the JWK's kty as it was published.
    pub fn kty(&self) -> &'static str {
        match self.kind {
            KeyKind::Rsa => "RSA",
            KeyKind::EcP256 | KeyKind::EcP384 => "EC",
        }
    }
}

/// The metadata and keys of one issuer at one moment; replaced whole, never mutated.
#[derive(Debug)]
pub struct KeySet {
    pub metadata: ProviderMetadata,
    pub keys: Vec<VerificationKey>,
    /// JWKs that were skipped, with why (shown by `check`, logged at fetch).
    pub skipped: Vec<String>,
    pub fetched_at: SystemTime,
    /// The provider's whole discovery document, when it was discovered (not hand-entered): what the proxy's own
    /// `/.well-known/smart-configuration` is built from.
    pub discovery: Option<Arc<serde_json::Value>>,
    /// Unique among the key sets this process ever built: what a cached token remembers its verification by (a
    /// number, so a cache hit touches no shared reference count, and a freed set's address can never be mistaken
    /// for a newer one's).
    serial: u64,
}

/// The source of [`KeySet::serial`].
static KEY_SET_SERIAL: AtomicU64 = AtomicU64::new(1);

impl KeySet {
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// B7, B8, Q14: the key for a token's `kid` and `alg`.
    pub fn select(&self, kid: Option<&str>, alg: Alg) -> Result<&VerificationKey, TokenError> {
        match kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if named.peek().is_none() {
                    return Err(TokenError::UnknownKid);
                }
                // A provider may publish one kid for two algorithms; pick the one that fits.
                named
                    .find(|k| k.fits(alg))
                    .ok_or(TokenError::KeyAlgMismatch)
            }
            None => {
                if self.keys.len() != 1 {
                    return Err(TokenError::AmbiguousKey);
                }
                self.keys
                    .iter()
                    .find(|k| k.fits(alg))
                    .ok_or(TokenError::KeyAlgMismatch)
            }
        }
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parse a JWKS into usable signing keys (B8): `use` absent or `sig`, `kty` RSA or EC P-256/P-384, any `alg` allow-listed
/// and fitting the key type. Unusable entries are skipped with a reason, not fatal; a set with no usable key is.
pub fn parse_jwks(
    url: &str,
    document: &[u8],
    metadata: ProviderMetadata,
) -> Result<KeySet, JwksError> {
    let raw: RawJwks = serde_json::from_slice(document).map_err(|source| JwksError::Json {
        url: url.into(),
        source,
    })?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, value) in raw.keys.into_iter().enumerate() {
        match parse_jwk(value) {
            Ok(key) => keys.push(key),
            Err(why) => skipped.push(format!("keys[{i}]: {why}")),
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { url: url.into() });
    }
    Ok(KeySet {
        metadata,
        keys,
        skipped,
        fetched_at: SystemTime::now(),
        discovery: None,
        serial: KEY_SET_SERIAL.fetch_add(1, Ordering::Relaxed),
    })
}

fn parse_jwk(value: serde_json::Value) -> Result<VerificationKey, String> {
    let jwk: RawJwk = serde_json::from_value(value).map_err(|e| format!("not a JWK: {e}"))?;
    let kid_note = jwk.kid.as_deref().unwrap_or("(no kid)").to_string();
    if let Some(u) = &jwk.use_ {
        if u != "sig" {
            return Err(format!("{kid_note}: use is {u:?}, not sig"));
        }
    }
    let alg = match &jwk.alg {
        None => None,
        Some(name) => Some(
            Alg::from_name(name)
                .ok_or_else(|| format!("{kid_note}: alg {name:?} is not allow-listed"))?,
        ),
    };
    let (kind, verifiers) = match jwk.kty.as_str() {
        "RSA" => {
            let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                return Err(format!("{kid_note}: RSA key without n/e"));
            };
            let bad = || format!("{kid_note}: bad RSA components");
            let n = decode_unsigned(n).ok_or_else(bad)?;
            let e = decode_unsigned(e).ok_or_else(bad)?;
            // What the verifiers accept (aws-lc-rs's 2048..=8192-bit range, an odd exponent of at least 3), checked
            // here so that a key no token could ever pass is skipped with its reason, not kept as usable.
            let bits = n.len() * 8 - n[0].leading_zeros() as usize;
            if bits < 2048 {
                return Err(format!("{kid_note}: RSA modulus shorter than 2048 bits"));
            }
            if bits > 8192 {
                return Err(format!("{kid_note}: RSA modulus longer than 8192 bits"));
            }
            let odd = e.last().is_some_and(|b| b & 1 == 1);
            if !odd || (e.len() == 1 && e[0] < 3) || e.len() > 8 {
                return Err(format!(
                    "{kid_note}: RSA exponent is not an odd number from 3 up"
                ));
            }
            let components = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            };
            let verifiers = algs_for(KeyKind::Rsa, alg)
                .map(|alg| {
                    let params = alg.rsa_parameters().ok_or_else(bad)?;
                    let key = components
                        .to_parsed_public_key(params)
                        .map_err(|e| format!("{kid_note}: bad RSA components: {e}"))?;
                    Ok(PreparedVerifier { alg, key })
                })
                .collect::<Result<Vec<_>, String>>()?;
            (KeyKind::Rsa, verifiers)
        }
        "EC" => {
            let (kind, size) = match jwk.crv.as_deref() {
                Some("P-256") => (KeyKind::EcP256, 32),
                Some("P-384") => (KeyKind::EcP384, 48),
                other => return Err(format!("{kid_note}: EC curve {other:?} is not supported")),
            };
            let (Some(x), Some(y)) = (&jwk.x, &jwk.y) else {
                return Err(format!("{kid_note}: EC key without x/y"));
            };
            let (Some(x), Some(y)) = (decode_b64url(x), decode_b64url(y)) else {
                return Err(format!("{kid_note}: bad EC components"));
            };
            if x.len() != size || y.len() != size {
                return Err(format!("{kid_note}: EC coordinates of the wrong length"));
            }
            // The uncompressed SEC1 point: 0x04 ‖ x ‖ y.
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let algorithm = if kind == KeyKind::EcP256 {
                &ECDSA_P256_SHA256_FIXED
            } else {
                &ECDSA_P384_SHA384_FIXED
            };
            let key = ParsedPublicKey::new(algorithm, &point)
                .map_err(|e| format!("{kid_note}: bad EC components: {e}"))?;
            let alg = if kind == KeyKind::EcP256 {
                Alg::ES256
            } else {
                Alg::ES384
            };
            (kind, vec![PreparedVerifier { alg, key }])
        }
        other => return Err(format!("{kid_note}: kty {other:?} is not supported")),
    };
    if let Some(alg) = alg {
        if alg.key_kind() != kind {
            return Err(format!(
                "{kid_note}: alg {} does not fit the key type",
                alg.name()
            ));
        }
    }
    Ok(VerificationKey {
        kid: jwk.kid,
        kind,
        alg,
        verifiers: verifiers.into(),
    })
}

/// The algorithms a key of `kind` may verify: the JWK's own `alg` when it names one that fits, else every one.
fn algs_for(kind: KeyKind, named: Option<Alg>) -> impl Iterator<Item = Alg> {
    Alg::ALL
        .into_iter()
        .filter(move |a| a.key_kind() == kind && named.is_none_or(|n| n == *a))
}

/// base64url as JWKs carry it (RFC 7518: no padding; a trailing `=` is tolerated, as providers emit it).
fn decode_b64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// An unsigned big-endian integer (`n`, `e`) without its leading zero bytes; empty or zero is no integer.
fn decode_unsigned(s: &str) -> Option<Vec<u8>> {
    let bytes = decode_b64url(s)?;
    let start = bytes.iter().position(|b| *b != 0)?;
    Some(bytes[start..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Issuer;

    fn meta() -> ProviderMetadata {
        ProviderMetadata {
            issuer: Issuer::new("https://issuer.example"),
            jwks_uri: url::Url::parse("https://issuer.example/keys").expect("url"),
        }
    }

    fn doc(json: serde_json::Value) -> Vec<u8> {
        json.to_string().into_bytes()
    }

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn b8_rsa_and_ec_keys_are_usable_enc_and_oct_are_skipped() {
        let set = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [
                {"kty":"RSA","kid":"r1","use":"sig","alg":"RS256","n":N,"e":"AQAB"},
                {"kty":"RSA","kid":"enc","use":"enc","n":N,"e":"AQAB"},
                {"kty":"oct","kid":"h","k":"c2VjcmV0"},
                {"kty":"RSA","kid":"hs","alg":"HS256","n":N,"e":"AQAB"},
                {"kty":"RSA","kid":"wrongalg","alg":"ES256","n":N,"e":"AQAB"},
            ]})),
            meta(),
        )
        .expect("one usable key");
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.skipped.len(), 4);
        assert!(set.select(Some("r1"), Alg::RS256).is_ok());
        // B8: the JWK says RS256, so PS256 may not use it.
        assert_eq!(
            set.select(Some("r1"), Alg::PS256).err(),
            Some(TokenError::KeyAlgMismatch)
        );
        // B8: an RSA key never verifies ES256.
        assert_eq!(
            set.select(Some("r1"), Alg::ES256).err(),
            Some(TokenError::KeyAlgMismatch)
        );
        assert_eq!(
            set.select(Some("nope"), Alg::RS256).err(),
            Some(TokenError::UnknownKid)
        );
    }

    #[test]
    fn b8_a_jwks_without_usable_keys_is_an_error() {
        let err = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [{"kty":"oct","k":"AA"}]})),
            meta(),
        );
        assert!(matches!(err, Err(JwksError::NoUsableKeys { .. })));
        let err = parse_jwks("u", &doc(serde_json::json!({"nokeys": []})), meta());
        assert!(matches!(err, Err(JwksError::Json { .. })));
    }

    #[test]
    fn b7_q14_token_without_kid_needs_exactly_one_key() {
        let one = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [{"kty":"RSA","kid":"a","n":N,"e":"AQAB"}]})),
            meta(),
        )
        .expect("set");
        assert!(one.select(None, Alg::RS256).is_ok());
        let two = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [
                {"kty":"RSA","kid":"a","n":N,"e":"AQAB"},
                {"kty":"RSA","kid":"b","n":N,"e":"AQAB"}
            ]})),
            meta(),
        )
        .expect("set");
        assert_eq!(
            two.select(None, Alg::RS256).err(),
            Some(TokenError::AmbiguousKey)
        );
    }

    #[test]
    fn c2_alg_names_are_exact() {
        assert_eq!(Alg::from_name("RS256"), Some(Alg::RS256));
        for bad in ["none", "None", "NONE", "HS256", "rs256", "EdDSA", ""] {
            assert_eq!(Alg::from_name(bad), None, "{bad}");
        }
    }

    /// One key, parsed once per algorithm it may verify: every algorithm of its kind when the JWK names none,
    /// only the named one otherwise; a signature that is not the key's fails on the parsed key too.
    #[test]
    fn b8_parsed_keys_verify_each_allowed_algorithm_and_refuse_a_wrong_signature() {
        use crate::demo::issuer::SigningKey;
        let rsa = SigningKey::generate(Alg::RS256, "r").expect("rsa");
        let other = SigningKey::generate(Alg::RS256, "o").expect("rsa");
        let ec = SigningKey::generate(Alg::ES256, "e").expect("ec");
        let mut unnamed = rsa.jwk();
        unnamed.as_object_mut().expect("jwk").remove("alg");
        // A modulus with a leading zero byte (some providers emit one) is the same key.
        let n = URL_SAFE_NO_PAD
            .decode(unnamed["n"].as_str().expect("n"))
            .expect("b64");
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        unnamed["n"] = serde_json::json!(URL_SAFE_NO_PAD.encode(padded));
        let set = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [unnamed, ec.jwk()]})),
            meta(),
        )
        .expect("set");
        let message = b"header.payload";
        let rsa_algs: Vec<Alg> = Alg::ALL
            .into_iter()
            .filter(|a| a.key_kind() == KeyKind::Rsa)
            .collect();
        assert_eq!(rsa_algs.len(), 6, "RS256..RS512 and PS256..PS512");
        for alg in rsa_algs {
            let key = set.select(Some("r"), alg).expect("fits");
            let verifier = key.verifier(alg).expect("parsed for every RSA algorithm");
            assert_eq!(verifier.algorithm(), alg.jsonwebtoken());
            let good = rsa.sign(alg, message).expect("sign");
            assert!(
                signature::Verifier::verify(verifier, message, &good).is_ok(),
                "{alg:?}"
            );
            let wrong = other.sign(alg, message).expect("sign");
            assert!(
                signature::Verifier::verify(verifier, message, &wrong).is_err(),
                "{alg:?}"
            );
            assert!(signature::Verifier::verify(verifier, b"header.other", &good).is_err());
        }
        let key = set.select(Some("e"), Alg::ES256).expect("fits");
        assert!(key.verifier(Alg::ES384).is_none() && key.verifier(Alg::RS256).is_none());
        let verifier = key.verifier(Alg::ES256).expect("es256");
        let good = ec.sign(Alg::ES256, message).expect("sign");
        assert!(signature::Verifier::verify(verifier, message, &good).is_ok());
        assert!(signature::Verifier::verify(verifier, b"header.other", &good).is_err());
        // A JWK that names RS256 is parsed for RS256 only.
        let named =
            parse_jwks("u", &doc(serde_json::json!({"keys": [rsa.jwk()]})), meta()).expect("set");
        let key = named.select(Some("r"), Alg::RS256).expect("fits");
        assert!(key.verifier(Alg::RS256).is_some() && key.verifier(Alg::PS256).is_none());
    }

    #[test]
    fn b8_an_ec_point_off_the_curve_is_skipped() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let set = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [
                {"kty": "EC", "crv": "P-256", "kid": "bad", "x": x, "y": x},
                {"kty": "RSA", "kid": "ok", "n": N, "e": "AQAB"},
            ]})),
            meta(),
        )
        .expect("set");
        assert_eq!(set.keys.len(), 1);
        assert!(set.skipped[0].contains("bad"), "{:?}", set.skipped);
    }

    #[test]
    fn b8_rsa_keys_no_token_could_pass_are_skipped_with_their_reason() {
        let mut short = vec![0x7fu8];
        short.extend([0xffu8; 255]);
        let short = URL_SAFE_NO_PAD.encode(short);
        let set = parse_jwks(
            "u",
            &doc(serde_json::json!({"keys": [
                {"kty": "RSA", "kid": "2047-bits", "n": short, "e": "AQAB"},
                {"kty": "RSA", "kid": "even-e", "n": N, "e": "AQAA"},
                {"kty": "RSA", "kid": "e-is-1", "n": N, "e": "AQ"},
                {"kty": "RSA", "kid": "ok", "n": N, "e": "AQAB"},
            ]})),
            meta(),
        )
        .expect("set");
        assert_eq!(set.keys.len(), 1, "{:?}", set.skipped);
        assert!(
            set.skipped[0].contains("2047-bits") && set.skipped[0].contains("shorter than 2048")
        );
        assert!(set.skipped[1].contains("even-e") && set.skipped[1].contains("exponent"));
        assert!(set.skipped[2].contains("e-is-1") && set.skipped[2].contains("exponent"));
    }
}
