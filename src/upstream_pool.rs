//! Connections to the one upstream: HTTP/1.1 keep-alive connections kept in a LIFO pool, or one shared HTTP/2
//! connection when TLS negotiates `h2`.
//!
//! Why not hyper-util's general client: it keys its pool by scheme and authority behind a mutex, formats a `Host`
//! header per request, and spawns a task per response to put the connection back when the body is done. The proxy
//! talks to exactly one origin, so the pool is a stack of ready senders, the `Host` value is built once, and a
//! connection goes back to the stack from the response body itself when its last frame has been read.
//!
//! Retries: a request that hyper hands back unsent (the pooled connection had closed underneath it) is sent once
//! more on a new connection; a request that may have reached the upstream is never resent.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, HOST};
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// What the pool sends: the client's body streamed, or one the proxy read whole to inspect (a batch authorized by
/// role) and sends on unchanged.
pub type RequestBody = http_body_util::Either<Incoming, http_body_util::Full<Bytes>>;
use hyper::client::conn::{http1, http2};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_service::Service;

use crate::body::BoxError;

/// Why a request could not be exchanged with the upstream.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("cannot connect to the upstream: {0}")]
    Connect(BoxError),
    #[error("upstream connection failed: {0}")]
    Http(#[from] hyper::Error),
}

impl PoolError {
    /// The client's own request body failed while it was being sent (bad chunk framing, cut off).
    pub fn caused_by_request_body(&self) -> bool {
        match self {
            PoolError::Http(e) => e.is_user() && !e.is_canceled(),
            PoolError::Connect(_) => false,
        }
    }
}

/// Pool limits.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Idle connections kept at most; more are closed when they come back.
    pub max_idle: usize,
    /// An idle connection older than this is closed instead of reused.
    pub idle_timeout: Duration,
}

/// The pool for one upstream origin; cheap to share behind an `Arc`.
pub struct UpstreamPool {
    connector: HttpsConnector<HttpConnector>,
    scheme: Scheme,
    authority: Authority,
    /// `Host` for HTTP/1.1 requests, built once.
    host: HeaderValue,
    inner: Arc<PoolInner>,
}

struct PoolInner {
    /// Most recently returned last: reusing the warmest connection keeps the others free to time out.
    idle: Mutex<VecDeque<IdleConnection>>,
    /// The HTTP/2 connection, when the upstream negotiated one: every request shares it.
    h2: Mutex<Option<http2::SendRequest<RequestBody>>>,
    settings: PoolSettings,
}

struct IdleConnection {
    sender: http1::SendRequest<RequestBody>,
    since: Instant,
}

impl std::fmt::Debug for UpstreamPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamPool")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// A connection ready for one request.
enum Checked {
    H1 {
        sender: http1::SendRequest<RequestBody>,
        reused: bool,
    },
    H2(http2::SendRequest<RequestBody>),
}

impl UpstreamPool {
    pub fn new(
        connector: HttpsConnector<HttpConnector>,
        scheme: Scheme,
        authority: Authority,
        settings: PoolSettings,
    ) -> Self {
        let host = HeaderValue::from_str(authority.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        UpstreamPool {
            connector,
            scheme,
            authority,
            host,
            inner: Arc::new(PoolInner {
                idle: Mutex::new(VecDeque::new()),
                h2: Mutex::new(None),
                settings,
            }),
        }
    }

    /// A pool for the same origin with no connections of its own yet: each worker thread keeps its connections
    /// to itself, so no lock is shared between cores.
    pub fn fresh(&self) -> UpstreamPool {
        UpstreamPool::new(
            self.connector.clone(),
            self.scheme.clone(),
            self.authority.clone(),
            self.inner.settings,
        )
    }

    /// Send `req` (its URI is origin-form: path and query) and return the response head; the body streams from
    /// the connection and returns it to the pool when it ends.
    ///
    /// Not an `async fn`: its future holds the request once (an `async fn` keeps the argument and its `mut`
    /// rebinding side by side, and the request is the largest thing it holds).
    #[allow(clippy::manual_async_fn)]
    pub fn send(
        &self,
        mut req: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<PooledBody>, PoolError>> + '_ {
        async move {
            let mut checked = self.checkout().await?;
            loop {
                let result = match &mut checked {
                    Checked::H2(sender) => {
                        *req.uri_mut() = self.absolute(req.uri());
                        sender.try_send_request(req).await
                    }
                    Checked::H1 { sender, .. } => {
                        req.headers_mut().insert(HOST, self.host.clone());
                        sender.try_send_request(req).await
                    }
                };
                match result {
                    Ok(response) => return Ok(self.attach(response, checked)),
                    Err(mut e) => {
                        let reused = matches!(checked, Checked::H1 { reused: true, .. });
                        match e.take_message() {
                            // Never written: the pooled connection had closed. Once more, on a fresh connection.
                            Some(unsent) if reused => {
                                req = unsent;
                                checked = Box::pin(self.connect()).await?;
                            }
                            _ => return Err(PoolError::Http(e.into_error())),
                        }
                    }
                }
            }
        }
    }

    fn attach(&self, response: Response<Incoming>, checked: Checked) -> Response<PooledBody> {
        let checkin = match checked {
            Checked::H1 { sender, .. } => Some(Checkin {
                sender,
                pool: Arc::clone(&self.inner),
            }),
            // The HTTP/2 sender stays shared in the pool; nothing to give back.
            Checked::H2(_) => None,
        };
        let (parts, inner) = response.into_parts();
        let mut body = PooledBody {
            inner,
            checkin: None,
        };
        match checkin {
            // Nothing more will be read (HEAD, 204, 304, empty): the connection is free now.
            Some(c) if body.inner.is_end_stream() => c.put_back(),
            other => body.checkin = other,
        }
        Response::from_parts(parts, body)
    }

    /// `scheme://authority/path?query` for HTTP/2, whose pseudo-headers come from the URI.
    fn absolute(&self, uri: &Uri) -> Uri {
        let pq = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .unwrap_or_else(|_| uri.clone())
    }

    async fn checkout(&self) -> Result<Checked, PoolError> {
        if let Some(h2) = self.shared_h2() {
            return Ok(Checked::H2(h2));
        }
        while let Some(mut idle) = self.inner.pop_idle() {
            if idle.since.elapsed() > self.inner.settings.idle_timeout {
                continue;
            }
            // Ready at once unless the connection is still finishing the previous exchange; closed ones fail.
            if idle.sender.ready().await.is_ok() {
                return Ok(Checked::H1 {
                    sender: idle.sender,
                    reused: true,
                });
            }
        }
        // Boxed: connecting (TCP, TLS, handshake) is a large future that most requests never run.
        Box::pin(self.connect()).await
    }

    fn shared_h2(&self) -> Option<http2::SendRequest<RequestBody>> {
        let mut h2 = self.inner.h2.lock().unwrap_or_else(|e| e.into_inner());
        match h2.as_ref() {
            Some(sender) if !sender.is_closed() => Some(sender.clone()),
            Some(_) => {
                *h2 = None;
                None
            }
            None => None,
        }
    }

    async fn connect(&self) -> Result<Checked, PoolError> {
        let target = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| PoolError::Connect(Box::new(e)))?;
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(PoolError::Connect)?;
        let stream = connector.call(target).await.map_err(PoolError::Connect)?;
        if stream.connected().is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(stream)
                .await?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "upstream HTTP/2 connection ended");
                }
            });
            *self.inner.h2.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender.clone());
            return Ok(Checked::H2(sender));
        }
        let (sender, connection) = http1::Builder::new().handshake(stream).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "upstream connection ended");
            }
        });
        Ok(Checked::H1 {
            sender,
            reused: false,
        })
    }
}

impl PoolInner {
    fn pop_idle(&self) -> Option<IdleConnection> {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_back()
    }

    fn put(&self, sender: http1::SendRequest<RequestBody>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // The oldest are at the front: close those past their idle time, and any beyond the limit.
        while idle.front().is_some_and(|c| {
            now.duration_since(c.since) > self.settings.idle_timeout
                || idle.len() >= self.settings.max_idle
        }) {
            idle.pop_front();
        }
        if self.settings.max_idle > 0 {
            idle.push_back(IdleConnection { sender, since: now });
        }
    }
}

/// An HTTP/1.1 connection on loan to one response body.
struct Checkin {
    sender: http1::SendRequest<RequestBody>,
    pool: Arc<PoolInner>,
}

impl Checkin {
    fn put_back(self) {
        self.pool.put(self.sender);
    }
}

/// The upstream's response body. When its last frame has been read, its HTTP/1.1 connection goes back to the
/// pool; a body dropped early (the client went away) takes its connection with it, since the unread rest of the
/// response would be in the way of the next one.
pub struct PooledBody {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody").finish_non_exhaustive()
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            None => {
                if let Some(c) = this.checkin.take() {
                    c.put_back();
                }
            }
            Some(Ok(_)) if this.inner.is_end_stream() => {
                if let Some(c) = this.checkin.take() {
                    c.put_back();
                }
            }
            Some(Ok(_)) => {}
            // A broken body: the connection is not reusable.
            Some(Err(_)) => this.checkin = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
