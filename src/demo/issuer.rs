//! A local OpenID Provider for the demo and the tests: fresh RSA and EC keys, discovery and JWKS over HTTP on
//! loopback, and token minting (including tokens no real provider would sign, for the tests).
//!
//! It can rotate its published keys, misbehave on demand (500, garbage, a hang) and count the JWKS fetches, so
//! tests can prove the proxy's refresh rules (B5, B6) against it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::{full, ProxyBody};
use crate::config::{Issuer, ProviderMetadata};
use crate::connections::{serve, ConnectionLimits};
use crate::discovery::DiscoveryError;
use crate::jwk::{parse_jwks, Alg, KeySet};

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("key generation failed")]
    KeyGeneration,
    #[error("{0} keys cannot sign {1}")]
    WrongAlg(&'static str, &'static str),
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
}

enum KeyMaterial {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
}

/// A private signing key with its `kid` and algorithm.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    material: KeyMaterial,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

impl SigningKey {
    /// A fresh key for `alg` (RSA 2048 for RS*/PS*, P-256 or P-384 for ES*).
    pub fn generate(alg: Alg, kid: impl Into<String>) -> Result<SigningKey, IssuerError> {
        let material = match alg {
            Alg::ES256 => KeyMaterial::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| IssuerError::KeyGeneration)?,
            ),
            Alg::ES384 => KeyMaterial::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .map_err(|_| IssuerError::KeyGeneration)?,
            ),
            _ => KeyMaterial::Rsa(
                aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| IssuerError::KeyGeneration)?,
            ),
        };
        Ok(SigningKey {
            kid: kid.into(),
            alg,
            material,
        })
    }

    /// The public JWK, as a provider publishes it.
    pub fn jwk(&self) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match &self.material {
            KeyMaterial::Rsa(kp) => {
                let public = kp.public_key();
                json!({
                    "kty": "RSA", "use": "sig", "kid": self.kid, "alg": self.alg.name(),
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            KeyMaterial::Ec(kp) => {
                let point = kp.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                json!({
                    "kty": "EC", "use": "sig", "kid": self.kid, "alg": self.alg.name(),
                    "crv": if self.alg == Alg::ES384 { "P-384" } else { "P-256" },
                    "x": b64(&point[1..1 + half]),
                    "y": b64(&point[1 + half..]),
                })
            }
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), for verifiers that take a key file rather
    /// than a JWKS (the load harness's haproxy reference).
    pub fn public_key_pem(&self) -> Result<String, IssuerError> {
        use aws_lc_rs::encoding::AsDer;
        let der = match &self.material {
            KeyMaterial::Rsa(kp) => kp.public_key().as_der().map(|d| d.as_ref().to_vec()),
            KeyMaterial::Ec(kp) => kp.public_key().as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| IssuerError::KeyGeneration)?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        Ok(pem)
    }

    /// Sign `message` with `alg`, which must fit the key (an RSA key signs RS*/PS*).
    pub fn sign(&self, alg: Alg, message: &[u8]) -> Result<Vec<u8>, IssuerError> {
        let rng = SystemRandom::new();
        match &self.material {
            KeyMaterial::Rsa(kp) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Alg::RS256 => &signature::RSA_PKCS1_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_SHA512,
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
                    Alg::PS384 => &signature::RSA_PSS_SHA384,
                    Alg::PS512 => &signature::RSA_PSS_SHA512,
                    Alg::ES256 | Alg::ES384 => {
                        return Err(IssuerError::WrongAlg("RSA", alg.name()))
                    }
                };
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(padding, &rng, message, &mut sig)
                    .map_err(|_| IssuerError::KeyGeneration)?;
                Ok(sig)
            }
            KeyMaterial::Ec(kp) => {
                if alg != self.alg {
                    return Err(IssuerError::WrongAlg("EC", alg.name()));
                }
                Ok(kp
                    .sign(&rng, message)
                    .map_err(|_| IssuerError::KeyGeneration)?
                    .as_ref()
                    .to_vec())
            }
        }
    }
}

/// How the issuer answers its discovery and JWKS requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// Every request: HTTP 500.
    Fail,
    /// 200 with a body that is not JSON.
    Garbage,
    /// Never answers (until the behaviour changes back).
    Hang,
    /// 200 with a 1 MiB JSON document (over the proxy's size cap).
    Huge,
}

struct Shared {
    issuer: String,
    published: Mutex<Vec<Arc<SigningKey>>>,
    behaviour: Mutex<Behaviour>,
    jwks_fetches: AtomicU64,
    discovery_fetches: AtomicU64,
    jwks_max_age: Mutex<Option<u64>>,
}

/// A running local issuer.
pub struct LocalIssuer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// The keys it was started with: `rsa-1` (RS256) and `ec-1` (ES256).
    pub rsa: Arc<SigningKey>,
    pub ec: Arc<SigningKey>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl LocalIssuer {
    /// Start on `127.0.0.1:0`; the issuer URL is `http://127.0.0.1:<port>` plus `path` (e.g. `/realms/demo`).
    pub async fn start(path: &str) -> Result<LocalIssuer, IssuerError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let rsa = Arc::new(SigningKey::generate(Alg::RS256, "rsa-1")?);
        let ec = Arc::new(SigningKey::generate(Alg::ES256, "ec-1")?);
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}{path}"),
            published: Mutex::new(vec![rsa.clone(), ec.clone()]),
            behaviour: Mutex::new(Behaviour::Normal),
            jwks_fetches: AtomicU64::new(0),
            discovery_fetches: AtomicU64::new(0),
            jwks_max_age: Mutex::new(None),
        });
        let (shutdown, rx) = watch::channel(false);
        let handler_shared = shared.clone();
        let prefix = path.to_string();
        tokio::spawn(serve(
            listener,
            ConnectionLimits::default(),
            rx,
            move |req, _| {
                let shared = handler_shared.clone();
                let prefix = prefix.clone();
                async move { respond(&shared, &prefix, req.uri().path()).await }
            },
        ));
        Ok(LocalIssuer {
            addr,
            shared,
            rsa,
            ec,
            shutdown,
        })
    }

    /// The `issuer` its discovery document names (also the authority to configure).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// Replace the published key set (rotation).
    pub fn publish(&self, keys: Vec<Arc<SigningKey>>) {
        if let Ok(mut p) = self.shared.published.lock() {
            *p = keys;
        }
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.shared.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// Serve the JWKS with `Cache-Control: max-age=N`.
    pub fn set_jwks_max_age(&self, secs: Option<u64>) {
        if let Ok(mut m) = self.shared.jwks_max_age.lock() {
            *m = secs;
        }
    }

    pub fn jwks_fetches(&self) -> u64 {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn discovery_fetches(&self) -> u64 {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// An RS256 token over `claims`, signed with `rsa-1`, `typ` `JWT`.
    pub fn mint(&self, claims: &Value) -> String {
        self.mint_with(&self.rsa, self.rsa.alg, claims)
    }

    /// A token signed by `key` with `alg` and a standard header (`alg`, `typ`, `kid`).
    pub fn mint_with(&self, key: &SigningKey, alg: Alg, claims: &Value) -> String {
        mint(key, alg, claims)
    }

    /// Stop serving.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A token signed by `key` with `alg` and the standard header (`alg`, `typ` `JWT`, `kid`).
pub fn mint(key: &SigningKey, alg: Alg, claims: &Value) -> String {
    let header = json!({"alg": alg.name(), "typ": "JWT", "kid": key.kid});
    sign_compact(
        key,
        alg,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

/// The key set the proxy would hold for an issuer publishing `keys` (tests and benches, without HTTP).
pub fn key_set(issuer: &str, keys: &[&SigningKey]) -> Result<KeySet, DiscoveryError> {
    let doc = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string();
    let jwks_uri =
        url::Url::parse(&format!("{}/jwks", issuer.trim_end_matches('/'))).map_err(|_| {
            DiscoveryError::BadMetadata {
                url: issuer.to_string(),
                field: "issuer",
            }
        })?;
    let metadata = ProviderMetadata {
        issuer: Issuer::new(issuer),
        jwks_uri,
    };
    Ok(parse_jwks(issuer, doc.as_bytes(), metadata)?)
}

/// `b64(header).b64(payload).b64(signature)` over exactly these bytes (tests use it to craft hostile tokens).
pub fn sign_compact(key: &SigningKey, alg: Alg, header: &[u8], payload: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key.sign(alg, signing_input.as_bytes()).unwrap_or_default();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn respond(shared: &Shared, prefix: &str, path: &str) -> Response<ProxyBody> {
    let behaviour = shared
        .behaviour
        .lock()
        .map(|b| *b)
        .unwrap_or(Behaviour::Normal);
    let rest = path.strip_prefix(prefix).unwrap_or(path);
    let is_discovery = rest == "/.well-known/openid-configuration";
    let is_jwks = rest == "/jwks";
    if is_discovery {
        shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    }
    if is_jwks {
        shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }
    match behaviour {
        Behaviour::Normal => {}
        Behaviour::Fail => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from_static(b"{}"),
                None,
            )
        }
        Behaviour::Garbage => {
            return json_response(StatusCode::OK, Bytes::from_static(b"<html>oops"), None)
        }
        Behaviour::Huge => {
            let padding = "x".repeat(1024 * 1024);
            let body = format!(
                "{{\"issuer\":\"{}\",\"padding\":\"{padding}\"}}",
                shared.issuer
            );
            return json_response(StatusCode::OK, Bytes::from(body), None);
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    if is_discovery {
        let doc = json!({
            "issuer": shared.issuer,
            "jwks_uri": format!("{}/jwks", shared.issuer),
            "token_endpoint": format!("{}/token", shared.issuer),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        });
        json_response(StatusCode::OK, Bytes::from(doc.to_string()), None)
    } else if is_jwks {
        let keys: Vec<Value> = shared
            .published
            .lock()
            .map(|p| p.iter().map(|k| k.jwk()).collect())
            .unwrap_or_default();
        let max_age = shared.jwks_max_age.lock().ok().and_then(|m| *m);
        json_response(
            StatusCode::OK,
            Bytes::from(json!({ "keys": keys }).to_string()),
            max_age,
        )
    } else {
        json_response(StatusCode::NOT_FOUND, Bytes::from_static(b"{}"), None)
    }
}

fn json_response(status: StatusCode, body: Bytes, max_age: Option<u64>) -> Response<ProxyBody> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = max_age {
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={secs}")) {
            response.headers_mut().insert(header::CACHE_CONTROL, v);
        }
    }
    response
}
