//! The reference server of the benchmarks: a plain tokio-tungstenite echo server that sends
//! every text frame back as it came (no decryption, no node). The API server's and the load
//! generator's benchmarks measure against it side by side, so they share this one.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

/// Accepts connections on `listener` and echoes every text frame, flushed one by one, as a
/// plain echo server does. Runs until the task is dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((s, _)) = listener.accept().await else {
            return;
        };
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(s).await else {
                return;
            };
            let (mut tx, mut rx) = ws.split();
            while let Some(Ok(m)) = rx.next().await {
                if m.is_text() && tx.send(m).await.is_err() {
                    return;
                }
            }
        });
    }
}
