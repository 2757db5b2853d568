//! The HTTP server: accepts connections up to [`HttpLimits::max_connections`], gives each client
//! [`HttpLimits::header_read_timeout`] to send a request's headers (a client trickling them is cut off), closes a
//! connection once [`HttpLimits::max_connection_age`] old, and on shutdown lets requests in progress finish.

use std::future::Future;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, warn};

use super::limits::HttpLimits;

/// Serves `app` on `listener` within `limits` until `shutdown` completes.
pub(crate) async fn serve_router(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let (closing, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    warn!(error = %e, "rpc accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut closing_rx = closing_rx.clone();
        let (age, grace) = (limits.max_connection_age, limits.request_timeout);
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        debug!(error = %e, "rpc connection closed");
                    }
                    return;
                }
                _ = closing_rx.changed() => {}
                () = tokio::time::sleep(age) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(grace, connection).await;
        });
    }
    let _ = closing.send(true);
    // Every connection returns its slot when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}
