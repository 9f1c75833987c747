//! Run: `cargo run --release --example upstream -- 127.0.0.1:9100`
//!
//! The smallest useful FHIR upstream for load tests: every request gets the same small Patient resource, over
//! HTTP/1.1 keep-alive, so the numbers measure the hop in front of it and not the upstream.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

const PATIENT: &[u8] =
    br#"{"resourceType":"Patient","id":"123","name":[{"family":"Rivera","given":["Ana"]}]}"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9100)));
    let listener = TcpListener::bind(addr).await?;
    eprintln!("upstream listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                let mut r = Response::new(Full::new(Bytes::from_static(PATIENT)));
                r.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("application/fhir+json"),
                );
                Ok::<_, Infallible>(r)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
