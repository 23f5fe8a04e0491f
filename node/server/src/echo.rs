//! The reference server of the benchmarks: a plain tokio-tungstenite echo server that sends
//! every text frame back as it came (no decryption, no node). The API server's and the load
//! generator's benchmarks measure against it side by side, so they share this one, and a
//! batching variant (the best a plain echo can do) for the generator's own cost.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

/// Accepts connections on `listener` and echoes every text frame, flushed one by one, as a
/// plain echo server does. Runs until the task is dropped.
pub async fn serve(listener: TcpListener) {
    accept_each(listener, false).await
}

/// As [`serve`], but feeding every frame already received and flushing once per batch: a
/// tuned echo, so a benchmark of the client measures the client, not the server's flushes.
pub async fn serve_batching(listener: TcpListener) {
    accept_each(listener, true).await
}

async fn accept_each(listener: TcpListener, batching: bool) {
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
                if !batching {
                    if m.is_text() && tx.send(m).await.is_err() {
                        return;
                    }
                    continue;
                }
                if m.is_text() && tx.feed(m).await.is_err() {
                    return;
                }
                // Everything already received goes out in the same flush.
                while let Some(Some(Ok(m))) = futures_util::FutureExt::now_or_never(rx.next()) {
                    if m.is_text() && tx.feed(m).await.is_err() {
                        return;
                    }
                }
                if tx.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}
