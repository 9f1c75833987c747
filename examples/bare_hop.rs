//! Run: `cargo run --release --example bare_hop -- 127.0.0.1:9200 127.0.0.1:9100`
//!
//! A calibration contender for the load harness (benches/load.sh), not a product: the cheapest HTTP/1.1
//! pass-through the card's stack (tokio, hyper 1.x) can build. One `current_thread` runtime, no authentication,
//! and each downstream connection owns one upstream connection for its lifetime. Its figure says how close to
//! nginx a hyper proxy can get on this machine; the distance from it to fhir-jwt-proxy is the proxy's own work.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9200)));
    let upstream: SocketAddr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9100)));
    let listener = TcpListener::bind(listen).await?;
    eprintln!("bare hop listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(up) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = up.set_nodelay(true);
            let Ok((sender, connection)) = http1::handshake(TokioIo::new(up)).await else {
                return;
            };
            tokio::spawn(connection);
            // HTTP/1.1 requests on one downstream connection come one at a time: the lock is never contended.
            let sender = Arc::new(Mutex::new(sender));
            let service = service_fn(move |req: Request<Incoming>| {
                let sender = Arc::clone(&sender);
                async move {
                    let mut sender = sender.lock().await;
                    sender.ready().await?;
                    let response: Response<Incoming> = sender.send_request(req).await?;
                    Ok::<_, hyper::Error>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
