//! The WebSocket API server: listener, per-connection handler, limits.
//!
//! Organised like mini-redis: [`serve`] accepts connections under a connection cap and spawns
//! one handler per connection; the handler reads frames, decodes them with the connection's
//! key, checks groups and rate limits, and forwards requests to the node's driver; a writer
//! task sends the node's responses and notifications back, feeding many frames and flushing
//! once.
//!
//! Bad input never costs the node:
//! - a well-encrypted JSON object holding a bad request (unknown type, missing field, bad
//!   value) gets an error reply naming the problem, echoing `id`, and the connection stays;
//! - a frame that is not base64, too short, too long or does not decrypt to a JSON object
//!   (AES-CTR cannot tell a wrong key from garbage) is a strike; after `strikes_max` strikes
//!   the connection is closed with close code 1008 (policy) and a plain-text reason;
//! - a binary frame gets an error reply when the connection's key is known, then a close with
//!   code 1003 (unsupported data) and a reason;
//! - a slow reader's notifications queue is bounded: past it, notifications are dropped and
//!   one `lagged{dropped}` notification says how many; responses are never dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use rand_core::{Rng, SeedableRng};
use tokio::sync::{Mutex as AsyncMutex, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::access::{AccessList, Group, TokenBucket};
use crate::clock::Clock;
use crate::driver::{ConnSink, Connections, DriverInput};
use crate::net::{NetListener, NetStream};
use stegosim_api::frame::{FrameCodec, FrameError};
use stegosim_api::message::{ErrorCode, Lagged, ServerKind, ServerMessage};
use stegosim_node::node::ConnId;

/// Limits of the API server; every refusal names the limit.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections open at once; more are closed at once with code 1013 (try again later).
    pub connections_max: usize,
    /// Largest frame text, in bytes.
    pub frame_bytes_max: usize,
    /// Requests of one connection being handled at once; more wait their turn (the handler
    /// stops reading), they are not refused.
    pub in_flight_max: usize,
    /// Bad frames (strikes) before a connection is closed.
    pub strikes_max: u32,
    /// Notifications queued for one connection before they are dropped (and counted).
    pub notifications_queued_max: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            connections_max: 4096,
            frame_bytes_max: stegosim_api::frame::FRAME_BYTES_MAX_DEFAULT,
            in_flight_max: 1024,
            strikes_max: 3,
            notifications_queued_max: 1024,
        }
    }
}

/// What the server needs to reach its node.
#[derive(Debug, Clone)]
pub struct ApiContext {
    /// The node's driver.
    pub driver: mpsc::UnboundedSender<DriverInput>,
    /// The node's connection registry.
    pub conns: Connections,
    /// Accepted keys.
    pub access: Arc<AccessList>,
    /// Limits.
    pub limits: ServerLimits,
    /// The clock (for rate limits).
    pub clock: Arc<dyn Clock>,
    /// Next connection id (shared by every server of a process).
    pub next_conn: Arc<AtomicU64>,
    /// Rate-limit buckets, one per key (index in `access.keys`).
    pub buckets: Arc<Vec<AsyncMutex<Option<TokenBucket>>>>,
}

impl ApiContext {
    /// A context for one node.
    pub fn new(
        driver: mpsc::UnboundedSender<DriverInput>,
        conns: Connections,
        access: AccessList,
        limits: ServerLimits,
        clock: Arc<dyn Clock>,
        next_conn: Arc<AtomicU64>,
    ) -> Self {
        let now = clock.now_ns();
        let buckets = access
            .keys
            .iter()
            .map(|k| AsyncMutex::new(k.rate_limit.map(|r| TokenBucket::new(r, now))))
            .collect();
        ApiContext {
            driver,
            conns,
            access: Arc::new(access),
            limits,
            clock,
            next_conn,
            buckets: Arc::new(buckets),
        }
    }
}

/// Accepts API connections on `listener` until the task is dropped.
pub async fn serve<L: NetListener>(listener: L, ctx: ApiContext) {
    let cap = Arc::new(Semaphore::new(ctx.limits.connections_max));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let permit = cap.clone().try_acquire_owned().ok();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if let Err(e) = handle_connection(stream, peer, ctx, permit.is_some()).await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
}

/// What the writer task is asked to do besides sending messages.
enum Control {
    /// Send a close frame with this code and reason, then stop.
    Close(CloseCode, String),
}

async fn handle_connection<S: NetStream>(
    stream: S,
    peer: SocketAddr,
    ctx: ApiContext,
    admitted: bool,
) -> Result<(), String> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(ctx.limits.frame_bytes_max))
        .max_frame_size(Some(ctx.limits.frame_bytes_max))
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(16 * 1024 * 1024 + 64 * 1024);
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(config))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    if !admitted {
        let reason = format!(
            "too many connections (limit {})",
            ctx.limits.connections_max
        );
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Again,
                reason: reason.into(),
            })))
            .await;
        return Ok(());
    }
    let conn: ConnId = ctx.next_conn.fetch_add(1, Ordering::Relaxed);
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let (notif_tx, mut notif_rx) =
        mpsc::channel::<ServerMessage>(ctx.limits.notifications_queued_max.max(1));
    let (control_tx, mut control_rx) = mpsc::unbounded_channel::<Control>();
    let dropped = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(Semaphore::new(ctx.limits.in_flight_max.max(1)));
    // The key is found from the first frame; the writer learns it through this cell.
    let codec_cell: Arc<std::sync::OnceLock<FrameCodec>> = Arc::new(std::sync::OnceLock::new());

    // Writer: responses first (biased), then notifications, then control; feed, flush once.
    let writer = {
        let codec_cell = codec_cell.clone();
        let dropped = dropped.clone();
        tokio::spawn(async move {
            let mut iv_rng = {
                let mut seed = [0u8; 32];
                #[allow(clippy::disallowed_methods)] // the server's frame IVs on a real connection
                let _ = getrandom::fill(&mut seed);
                rand_chacha::ChaCha12Rng::from_seed(seed)
            };
            let (mut json, mut text) = (Vec::new(), String::new());
            let mut encode = |msg: &ServerMessage, codec: &FrameCodec| -> Message {
                let mut iv = [0u8; 16];
                iv_rng.fill_bytes(&mut iv);
                text.clear();
                codec.encode_server_message(msg, iv, &mut json, &mut text);
                Message::text(text.clone())
            };
            loop {
                let first = tokio::select! {
                    biased;
                    m = reply_rx.recv() => match m { Some(m) => Ok(m), None => break },
                    c = control_rx.recv() => match c { Some(c) => Err(c), None => break },
                    m = notif_rx.recv() => match m { Some(m) => Ok(m), None => break },
                };
                let Some(codec) = codec_cell.get() else {
                    // No key yet: only a control message can come (a close).
                    if let Err(Control::Close(code, reason)) = first {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame {
                                code,
                                reason: reason.into(),
                            })))
                            .await;
                    }
                    break;
                };
                let mut batch: Vec<Result<ServerMessage, Control>> = vec![first];
                while batch.len() < 512 {
                    if let Ok(m) = reply_rx.try_recv() {
                        batch.push(Ok(m));
                    } else if let Ok(m) = notif_rx.try_recv() {
                        batch.push(Ok(m));
                    } else {
                        break;
                    }
                }
                let lagged = dropped.swap(0, Ordering::Relaxed);
                if lagged > 0 {
                    let msg = ServerMessage::new(ServerKind::Lagged(Lagged { dropped: lagged }));
                    if sink.feed(encode(&msg, codec)).await.is_err() {
                        return;
                    }
                }
                for item in batch {
                    match item {
                        Ok(msg) => {
                            if sink.feed(encode(&msg, codec)).await.is_err() {
                                return;
                            }
                        }
                        Err(Control::Close(code, reason)) => {
                            let _ = sink
                                .send(Message::Close(Some(CloseFrame {
                                    code,
                                    reason: reason.into(),
                                })))
                                .await;
                            return;
                        }
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        })
    };

    let mut strikes = 0u32;
    let mut key_index: Option<usize> = None;
    let mut plaintext = Vec::new();
    let strike = |strikes: &mut u32, why: &str| -> Option<Control> {
        *strikes += 1;
        tracing::debug!(%peer, conn, strikes = *strikes, why, "bad frame");
        if *strikes >= ctx.limits.strikes_max {
            Some(Control::Close(
                CloseCode::Policy,
                format!("too many bad frames ({}): last one {why}", *strikes),
            ))
        } else {
            None
        }
    };
    let mut registered = false;
    while let Some(frame) = stream.next().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                // Oversized messages and protocol errors end the connection with a reason.
                let reason = e.to_string();
                let _ = control_tx.send(Control::Close(
                    CloseCode::Size,
                    reason.chars().take(120).collect(),
                ));
                break;
            }
        };
        match frame {
            Message::Text(text) => {
                if key_index.is_none() {
                    // Find the key: the one whose codec decrypts this frame to a JSON object.
                    for (i, k) in ctx.access.keys.iter().enumerate() {
                        let codec = FrameCodec::new(&k.frame_key)
                            .with_frame_bytes_max(ctx.limits.frame_bytes_max);
                        if codec.decode_json_object(text.as_bytes()).is_ok() {
                            key_index = Some(i);
                            let _ = codec_cell.set(codec);
                            break;
                        }
                    }
                    match key_index {
                        Some(i) => {
                            let wallet = ctx.access.keys[i].groups.contains(&Group::Wallet);
                            let sink = ConnSink {
                                replies: reply_tx.clone(),
                                notifications: notif_tx.clone(),
                                dropped: dropped.clone(),
                                wallet,
                            };
                            ctx.conns
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(conn, sink);
                            registered = true;
                        }
                        None => {
                            if let Some(close) = strike(
                                &mut strikes,
                                "does not decrypt to a JSON object with any accepted key",
                            ) {
                                let _ = control_tx.send(close);
                                break;
                            }
                            continue;
                        }
                    }
                }
                let Some(codec) = codec_cell.get() else {
                    continue;
                };
                let key = &ctx.access.keys[key_index.unwrap_or(0)];
                match codec.decode_request(text.as_bytes(), &mut plaintext) {
                    Ok(req) => {
                        let group = Group::of(&req.kind);
                        if !key.groups.contains(&group) {
                            let mut m = ServerMessage::error(
                                req.id,
                                ErrorCode::Forbidden,
                                format!(
                                    "key {:?} may not use `{}` (group {})",
                                    key.name,
                                    req.type_name(),
                                    group.name()
                                ),
                            );
                            m.account_id = req.account_id;
                            let _ = reply_tx.send(m);
                            continue;
                        }
                        // Keys without a rate limit skip the bucket's lock: every
                        // connection of a key shares it, so it would be a point of contention.
                        let limited = key.rate_limit.is_some();
                        let mut guard = if limited {
                            Some(ctx.buckets[key_index.unwrap_or(0)].lock().await)
                        } else {
                            None
                        };
                        if let Some(bucket) = guard.as_mut().and_then(|g| g.as_mut()) {
                            if let Err(wait) = bucket.take(ctx.clock.now_ns()) {
                                let mut m = ServerMessage::error(
                                    req.id,
                                    ErrorCode::RateLimited,
                                    format!(
                                        "rate limit of key {:?} exceeded ({}); retry after {} ms",
                                        key.name,
                                        key.rate_limit.map(|r| r.to_string()).unwrap_or_default(),
                                        wait.as_millis().max(1)
                                    ),
                                );
                                m.account_id = req.account_id;
                                let _ = reply_tx.send(m);
                                continue;
                            }
                        }
                        drop(guard);
                        // Wait for a slot: requests beyond the limit wait, they are not refused.
                        let permit = in_flight.clone().acquire_owned().await.ok();
                        if ctx
                            .driver
                            .send(DriverInput::Request { conn, req, permit })
                            .is_err()
                        {
                            let _ = control_tx.send(Control::Close(
                                CloseCode::Away,
                                "the node is shutting down".into(),
                            ));
                            break;
                        }
                    }
                    Err(FrameError::Message(e)) => {
                        let _ = reply_tx.send(e.reply());
                    }
                    Err(e) => {
                        if let Some(close) = strike(&mut strikes, &e.to_string()) {
                            let _ = control_tx.send(close);
                            break;
                        }
                    }
                }
            }
            Message::Binary(_) => {
                if codec_cell.get().is_some() {
                    let _ = reply_tx.send(ServerMessage::error(
                        0,
                        ErrorCode::BinaryFrame,
                        "binary frames are not supported: send text frames (base64 of IV and ciphertext)",
                    ));
                }
                let _ = control_tx.send(Control::Close(
                    CloseCode::Unsupported,
                    "binary frames are not supported".into(),
                ));
                break;
            }
            Message::Close(_) => break,
            // tungstenite answers pings itself; pongs and raw frames need nothing.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
    // Complete the closing handshake: keep reading (and ignoring) until the client answers our
    // close frame or hangs up, so the close frame and its reason are not lost to a reset.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    if registered {
        ctx.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&conn);
        let _ = ctx.driver.send(DriverInput::Closed(conn));
    }
    drop(reply_tx);
    drop(notif_tx);
    drop(control_tx);
    let _ = writer.await;
    Ok(())
}
