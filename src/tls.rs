//! TLS: the listener's certificate (HTTPS with HTTP/1.1 and h2 by ALPN) and the roots for upstream and identity
//! provider connections.
//!
//! In: PEM files. Out: a [`TlsListener`] whose acceptor can be replaced while serving (certificates reload with the
//! config), and a root store of the platform's certificates plus an optional extra CA. Errors: [`TlsError`] naming
//! the file. One crypto provider: aws-lc-rs, as everywhere in the crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{file}: {why}")]
    Pem { file: String, why: String },
    #[error("{file}: holds no certificate")]
    NoCertificate { file: String },
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the listener's certificate chain and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The files' bytes, to tell a change on disk from none.
    pub fn fingerprint(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        Some((
            std::fs::read(&self.cert).ok()?,
            std::fs::read(&self.key).ok()?,
        ))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn pem_error(file: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        file: file.display().to_string(),
        why: e.to_string(),
    }
}

fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| pem_error(file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(file, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            file: file.display().to_string(),
        });
    }
    Ok(certs)
}

/// A server acceptor for these files, offering h2 and HTTP/1.1.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let certs = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The listener's TLS state: files and the current acceptor, replaceable while connections are served.
pub struct TlsListener {
    pub files: TlsFiles,
    current: ArcSwap<TlsAcceptor>,
    loaded: std::sync::Mutex<Option<(Vec<u8>, Vec<u8>)>>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("files", &self.files)
            .finish()
    }
}

impl TlsListener {
    pub fn new(files: TlsFiles) -> Result<Self, TlsError> {
        let acceptor = acceptor(&files)?;
        let loaded = files.fingerprint();
        Ok(TlsListener {
            files,
            current: ArcSwap::from_pointee(acceptor),
            loaded: std::sync::Mutex::new(loaded),
        })
    }

    pub fn acceptor(&self) -> Arc<TlsAcceptor> {
        self.current.load_full()
    }

    /// Reload the certificate if its files changed; a broken new pair keeps the old one serving.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = self.files.fingerprint();
        let same = self.loaded.lock().ok().is_some_and(|l| *l == now);
        if same {
            return Ok(false);
        }
        let acceptor = acceptor(&self.files)?;
        self.current.store(Arc::new(acceptor));
        if let Ok(mut l) = self.loaded.lock() {
            *l = now;
        }
        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
        Ok(true)
    }
}

/// The CA certificates of `--upstream-ca`, read once and shared by the upstream and the discovery/JWKS client.
pub fn ca_certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    certificates(file)
}

/// The platform's roots plus `extra_roots`, for upstream connections.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A platform certificate rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    for cert in extra_roots {
        roots.add(cert.clone())?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
