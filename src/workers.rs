//! The proxy's data path, thread per core: each worker is one OS thread running a `current_thread` runtime, with
//! its own listening socket on the shared address (`SO_REUSEPORT`: the kernel spreads new connections across the
//! sockets) and its own upstream connections.
//!
//! Why: a request is then served start to finish on the thread that accepted its connection. No task is stolen by
//! another thread, no wake-up crosses cores, and no lock on the hot path is shared between cores (the upstream pool
//! is per worker). What the workers share is read-mostly: the config snapshot (arc-swap), the key sets, the
//! verified-token cache, the continuation bindings and the metrics. The admin listener, the key refreshers and
//! config reloads stay on the main runtime.
//!
//! The trade-off is nginx's with `reuseport`: a connection stays with the worker the kernel gave it to, so one
//! busy worker does not hand its queue to an idle one. Clients with many connections (gateways, load balancers)
//! spread evenly; a single long-lived connection uses one core.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpSocket;
use tokio::sync::{oneshot, watch, Semaphore};

use crate::connections::{serve_with_tls, ConnectionLimits};
use crate::proxy::Proxy;
use crate::tls::TlsListener;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start worker thread {index}: {source}")]
    Thread {
        index: usize,
        #[source]
        source: std::io::Error,
    },
}

/// How many workers `requested` means: 0 is one per core this process may run on (its CPU affinity and cgroup
/// quota, as the standard library reads them).
pub fn worker_count(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sockets bound to one address, one per worker, not yet listening (each worker listens on its own runtime).
pub struct BoundSockets {
    pub addr: SocketAddr,
    sockets: Vec<TcpSocket>,
}

impl BoundSockets {
    /// How many workers these sockets are for.
    pub fn worker_count(&self) -> usize {
        self.sockets.len()
    }
}

/// Bind `count` sockets to `addr`.
///
/// A probe socket without `SO_REUSEPORT` binds first: it fails when anything holds the port, including another
/// process's `SO_REUSEPORT` group (a second instance of the proxy would otherwise silently take half the
/// connections), and it resolves port 0. The workers' sockets then bind the port it got.
pub fn bind(addr: SocketAddr, count: usize) -> Result<BoundSockets, WorkerError> {
    let bind_error = |source| WorkerError::Bind { addr, source };
    let new_socket = || {
        if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
    };
    let mut resolved = addr;
    if count > 1 {
        let probe = new_socket().map_err(bind_error)?;
        // As the listeners: a port whose last connections are in TIME_WAIT is free, one with a listener is not.
        probe.set_reuseaddr(true).map_err(bind_error)?;
        probe.bind(addr).map_err(bind_error)?;
        resolved = probe.local_addr().map_err(bind_error)?;
    }
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let socket = new_socket().map_err(bind_error)?;
        socket.set_reuseaddr(true).map_err(bind_error)?;
        #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
        if count > 1 {
            socket.set_reuseport(true).map_err(bind_error)?;
        }
        socket.bind(resolved).map_err(bind_error)?;
        if resolved.port() == 0 {
            resolved = socket.local_addr().map_err(bind_error)?;
        }
        sockets.push(socket);
    }
    Ok(BoundSockets {
        addr: resolved,
        sockets,
    })
}

/// The running workers; each reports here when it has drained and stopped.
#[derive(Debug)]
pub struct Workers {
    stopped: Vec<oneshot::Receiver<()>>,
}

impl Workers {
    /// Wait until every worker has stopped (after the shutdown signal and the drain).
    pub async fn join(self) {
        for stopped in self.stopped {
            let _ = stopped.await;
        }
    }
}

/// Start one worker per socket. `proxy` is the template: every worker gets a copy with its own upstream pool.
/// Returns once every worker is listening (or with the first worker's error).
pub async fn start(
    sockets: BoundSockets,
    proxy: &Proxy,
    limits: ConnectionLimits,
    shutdown: watch::Receiver<bool>,
    tls: Option<Arc<TlsListener>>,
) -> Result<Workers, WorkerError> {
    let mut stopped = Vec::new();
    let mut listening = Vec::new();
    // One cap for the listener as a whole, not one per worker.
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    for (index, socket) in sockets.sockets.into_iter().enumerate() {
        let proxy = Arc::new(proxy.for_worker());
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let permits = Arc::clone(&permits);
        let (stopped_tx, stopped_rx) = oneshot::channel();
        let (listening_tx, listening_rx) = oneshot::channel();
        let addr = sockets.addr;
        std::thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(source) => {
                        let _ = listening_tx.send(Err(WorkerError::Thread { index, source }));
                        return;
                    }
                };
                runtime.block_on(async move {
                    // Listening registers the socket with this thread's reactor, so it happens here.
                    let listener = match socket.listen(1024) {
                        Ok(listener) => listener,
                        Err(source) => {
                            let _ = listening_tx.send(Err(WorkerError::Bind { addr, source }));
                            return;
                        }
                    };
                    let _ = listening_tx.send(Ok(()));
                    tokio::spawn(timer_anchor());
                    serve_with_tls(
                        listener,
                        limits,
                        permits,
                        shutdown,
                        tls,
                        move |req, client| {
                            let proxy = Arc::clone(&proxy);
                            async move { proxy.handle(req, client).await }
                        },
                    )
                    .await;
                });
                // The runtime (and the upstream connections' tasks) end with the thread; a blocking task still
                // running (a DNS lookup) gets a second, not the rest of the shutdown.
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
                let _ = stopped_tx.send(());
            })
            .map_err(|source| WorkerError::Thread { index, source })?;
        stopped.push(stopped_rx);
        listening.push(listening_rx);
    }
    // On an error the workers already listening stop with the caller's shutdown sender, which `server::start`
    // drops when it returns the error.
    for (index, ready) in listening.into_iter().enumerate() {
        match ready.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            // The thread ended without a word: it panicked while starting.
            Err(_) => {
                return Err(WorkerError::Thread {
                    index,
                    source: std::io::Error::other("worker thread ended while starting"),
                })
            }
        }
    }
    Ok(Workers { stopped })
}

/// Keeps a timer due within [`ANCHOR_PERIOD`] on this worker's runtime, always.
///
/// Why: tokio wakes its driver (a write to an eventfd) whenever a timer is registered that is due before the
/// driver's next planned wake-up, and when no timer is pending any new one is. A request registers several (the
/// header-read timeout, the upstream timeout, the body idle timeout), all due seconds away; with this anchor the
/// driver always plans to wake sooner, so registering them costs no system call. Four wake-ups a second per worker
/// instead of up to one per request.
async fn timer_anchor() {
    loop {
        tokio::time::sleep(ANCHOR_PERIOD).await;
    }
}

/// Shorter than every per-request timeout (the shortest, the upstream timeout, is at least a second).
const ANCHOR_PERIOD: std::time::Duration = std::time::Duration::from_millis(250);
