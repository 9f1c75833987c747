//! JSON Web Keys without I/O (rules B7, B8, C2, Q14): the algorithms the proxy accepts, the key kinds they need,
//! parsed verification keys, and a JWKS document → [`KeySet`].
//!
//! In: the bytes of a JWKS document and the provider metadata it belongs to. Out: a [`KeySet`] (unusable entries
//! skipped with a reason), or [`JwksError`]. Used by token verification, the token cache, `check`, the demo issuer,
//! and the key refresher in [`crate::keys`], which does the fetching.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use jsonwebtoken::{Algorithm, DecodingKey};
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
    pub key: Arc<DecodingKey>,
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
    let (kind, key) = match jwk.kty.as_str() {
        "RSA" => {
            let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                return Err(format!("{kid_note}: RSA key without n/e"));
            };
            let key = DecodingKey::from_rsa_components(n, e)
                .map_err(|e| format!("{kid_note}: bad RSA components: {e}"))?;
            let n_len = base64_len(n);
            if n_len < 256 {
                return Err(format!("{kid_note}: RSA modulus shorter than 2048 bits"));
            }
            (KeyKind::Rsa, key)
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
            if base64_len(x) != size || base64_len(y) != size {
                return Err(format!("{kid_note}: EC coordinates of the wrong length"));
            }
            let key = DecodingKey::from_ec_components(x, y)
                .map_err(|e| format!("{kid_note}: bad EC components: {e}"))?;
            (kind, key)
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
        key: Arc::new(key),
    })
}

/// Decoded length of an unpadded base64url string.
fn base64_len(s: &str) -> usize {
    s.trim_end_matches('=').len() * 3 / 4
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
}
