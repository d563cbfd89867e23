//! Connections: the accept loop, HTTP/1.1 with a header-read timeout, and a
//! drain deadline at shutdown.
//!
//! A client that sends its request headers slower than
//! `Config::header_read_timeout` is disconnected (hyper runs the same timer
//! from the end of one response to the next request's headers, so an idle
//! keep-alive connection is closed after it too). At shutdown the listener
//! closes, idle connections close, and requests in flight finish; whatever
//! is still open after `Config::drain_timeout` is closed.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long connections may take.
pub(crate) struct Limits {
    pub header_read: Duration,
    pub drain: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let task = connection(stream, app.clone(), http.clone(), stopping.clone());
                    connections.spawn(logged(task, peer, limits.header_read));
                }
                Err(e) => accept_failed(e).await,
            },
            // Finished connections are reaped as they go.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    drain(connections, limits.drain).await;
}

/// Waits for the connections to finish, at most `limit`, then closes the rest.
async fn drain(mut connections: JoinSet<()>, limit: Duration) {
    if !connections.is_empty() {
        tracing::info!(connections = connections.len(), "draining connections");
    }
    let all = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limit, all).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            drain_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            "drain deadline passed: closing the connections still open"
        );
        connections.shutdown().await;
    }
}

/// Runs a connection, and says so when it was cut off for sending its
/// headers too slowly (an idle connection closed by the same timer is not
/// worth a line).
async fn logged(
    connection: impl Future<Output = Result<(), hyper::Error>>,
    peer: std::net::SocketAddr,
    limit: Duration,
) {
    if let Err(e) = connection.await
        && e.is_timeout()
    {
        tracing::info!(
            %peer,
            header_timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            "connection closed: the request headers did not arrive in time"
        );
    }
}

/// One connection, until it closes; asked to close once idle when `stopping`.
async fn connection(
    stream: TcpStream,
    app: Router,
    http: http1::Builder,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), hyper::Error> {
    let service = TowerToHyperService::new(app);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        done = conn.as_mut() => return done,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    conn.await
}

/// A failed `accept`: a connection reset before it was accepted is nobody's
/// problem; anything else (out of file descriptors) is logged, and accepting
/// pauses for a second rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
