//! TLS: HTTPS with HTTP/1.1 and h2 by ALPN from a test CA, certificate reload, and an https upstream trusted through
//! `--upstream-ca`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fhir_jwt_proxy::tls::TlsFiles;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use crate::support::*;

/// A CA and one server certificate for 127.0.0.1/localhost, written as PEM files.
struct TestPki {
    dir: PathBuf,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestPki {
    fn new(name: &str) -> TestPki {
        let dir =
            std::env::temp_dir().join(format!("fhir-jwt-proxy-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let ca_key = KeyPair::generate().expect("ca key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fhir-jwt-proxy test CA");
        let ca_pem = params.self_signed(&ca_key).expect("ca").pem();
        std::fs::write(dir.join("ca.pem"), &ca_pem).expect("write ca");
        TestPki {
            dir,
            ca_pem,
            issuer: Issuer::new(params, ca_key),
        }
    }

    /// Issue a server certificate; `tag` goes into its common name so tests can tell two apart.
    fn issue(&self, tag: &str) -> TlsFiles {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, tag);
        let cert = params.signed_by(&key, &self.issuer).expect("cert");
        let files = TlsFiles {
            cert: self.dir.join("server.pem"),
            key: self.dir.join("server.key"),
        };
        write_atomically(&files.key, &key.serialize_pem());
        write_atomically(&files.cert, &cert.pem());
        files
    }

    fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn client(&self, http1_only: bool) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("ca");
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(10));
        if http1_only {
            b = b.http1_only();
        }
        b.build().expect("client")
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[tokio::test]
async fn https_serves_h2_and_http1_by_alpn() {
    let w = World::new().await;
    let pki = TestPki::new("alpn");
    let files = pki.issue("first");
    let p = w.proxy_with(|s| s.tls = Some(files)).await;
    let url = format!("https://127.0.0.1:{}/Patient/123", p.addr.port());
    let t = w.portal_token();
    let h2 = pki
        .client(false)
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .expect("h2 answer");
    assert_eq!(h2.status(), 200);
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    let h1 = pki
        .client(true)
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .expect("h1 answer");
    assert_eq!(h1.status(), 200);
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(w.upstream.last().headers["x-forwarded-proto"], "https");
    // Plain HTTP to the TLS port is not served.
    assert!(client()
        .get(format!("http://127.0.0.1:{}/metadata", p.addr.port()))
        .send()
        .await
        .is_err());
    // A client that does not trust the CA cannot connect.
    let untrusting = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    assert!(untrusting.get(&url).send().await.is_err());
}

#[tokio::test]
async fn https_upstream_is_trusted_through_upstream_ca() {
    let w = World::new().await;
    let pki = TestPki::new("upstream");
    let files = pki.issue("inner");
    // Inner proxy: TLS, in front of the recording upstream.
    let inner = w.proxy_with(|s| s.tls = Some(files)).await;
    let inner_base = format!("https://127.0.0.1:{}", inner.addr.port());
    // Outer proxy: its upstream is the inner one over https, trusted through the test CA.
    let ca = pki.ca_path();
    // --forward-token: the inner proxy checks the token again.
    let outer = start_proxy(&w.config(), &inner_base, |s| {
        s.upstream.ca = Some(ca);
        s.upstream.forward_token = true;
    })
    .await;
    wait_ready(&outer).await;
    assert_eq!(status(&outer, "/metadata", None).await, 200);
    assert_eq!(w.upstream.last().uri, "/metadata");
    // The inner proxy speaks h2 by ALPN, so the outer one shares one h2 connection: concurrent requests and an
    // authenticated one with its body all come back whole.
    let many = (0..16).map(|_| status(&outer, "/metadata", None));
    assert!(futures_util::future::join_all(many)
        .await
        .iter()
        .all(|s| *s == 200));
    let a = get(&outer, "/Patient/123", Some(&w.primary_token())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Without the CA the upstream's certificate is not trusted: 502.
    let blind = start_proxy(&w.config(), &inner_base, |_| {}).await;
    wait_ready(&blind).await;
    assert_eq!(status(&blind, "/metadata", None).await, 502);
}

/// The DER of the certificate the server presents.
async fn served_certificate(addr: std::net::SocketAddr, ca_pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca der"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    tls.get_ref().1.peer_certificates().expect("peer certs")[0].to_vec()
}

#[tokio::test]
async fn the_certificate_reloads_when_its_files_change() {
    let w = World::new().await;
    let pki = TestPki::new("reload");
    let files = pki.issue("first");
    let config_path = pki.dir.join("config.json");
    std::fs::write(&config_path, w.config().to_string()).expect("config");
    let source = fhir_jwt_proxy::reload::ReloadSource {
        path: config_path,
        options: fhir_jwt_proxy::config::LoadOptions {
            allow_insecure_http: true,
        },
        poll_interval: Duration::from_millis(50),
        settings: std::sync::Arc::new(|_| (Default::default(), Default::default())),
    };
    let p = w
        .proxy_with(|s| {
            s.tls = Some(files.clone());
            s.reload = Some(source);
        })
        .await;
    let first = served_certificate(p.addr, &pki.ca_pem).await;
    pki.issue("second");
    let second_der = rustls::pki_types::pem::PemObject::from_pem_file(&files.cert)
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
        .expect("new cert");
    assert_ne!(first, second_der);
    let mut served = first.clone();
    for _ in 0..100 {
        served = served_certificate(p.addr, &pki.ca_pem).await;
        if served == second_der {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        served, second_der,
        "the new certificate is served without a restart"
    );
    // A broken pair keeps the last good certificate.
    std::fs::write(&files.key, "not a key").expect("break key");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(served_certificate(p.addr, &pki.ca_pem).await, second_der);
}
