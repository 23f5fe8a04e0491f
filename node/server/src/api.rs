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
use stegosim_api::message::{ErrorCode, Lagged, Request, ServerKind, ServerMessage};
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

/// Whether the reading loop goes on after a frame.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Most messages the writer feeds before one flush.
const WRITE_BATCH_MAX: usize = 512;

/// How long the handler waits, after it closed, for the client's answer to its close frame.
const CLOSE_HANDSHAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// One connection: the WebSocket handshake, the connection cap, then a reader (this task)
/// and a writer task joined by channels; at the end the closing handshake and the
/// deregistration from the node.
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
        let _ = sink.send(close_message(CloseCode::Again, reason)).await;
        return Ok(());
    }
    let (reply_tx, reply_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let (notif_tx, notif_rx) =
        mpsc::channel::<ServerMessage>(ctx.limits.notifications_queued_max.max(1));
    let (control_tx, control_rx) = mpsc::unbounded_channel::<Control>();
    let dropped = Arc::new(AtomicU64::new(0));
    // The key is found from the first frame; the writer learns it through this cell.
    let codec_cell: Arc<std::sync::OnceLock<FrameCodec>> = Arc::new(std::sync::OnceLock::new());
    let writer = tokio::spawn(write_loop(
        sink,
        WriterInputs {
            replies: reply_rx,
            notifications: notif_rx,
            control: control_rx,
        },
        codec_cell.clone(),
        dropped.clone(),
    ));

    let mut reader = Reader {
        conn: ctx.next_conn.fetch_add(1, Ordering::Relaxed),
        in_flight: Arc::new(Semaphore::new(ctx.limits.in_flight_max.max(1))),
        ctx,
        peer,
        strikes: 0,
        key_index: None,
        plaintext: Vec::new(),
        reply_tx,
        notif_tx,
        control_tx,
        dropped,
        codec_cell,
        registered: false,
    };
    while let Some(frame) = stream.next().await {
        let flow = match frame {
            Ok(frame) => reader.on_frame(frame).await,
            Err(e) => {
                // Oversized messages and protocol errors end the connection with a reason.
                reader.close(CloseCode::Size, e.to_string().chars().take(120).collect());
                Flow::Stop
            }
        };
        if flow == Flow::Stop {
            break;
        }
    }
    // Complete the closing handshake: keep reading (and ignoring) until the client answers our
    // close frame or hangs up, so the close frame and its reason are not lost to a reset.
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    reader.finish();
    let _ = writer.await;
    Ok(())
}

/// A close frame with its code and reason.
fn close_message(code: CloseCode, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// What the writer task reads: responses (never dropped), notifications (bounded) and
/// control messages.
struct WriterInputs {
    replies: mpsc::UnboundedReceiver<ServerMessage>,
    notifications: mpsc::Receiver<ServerMessage>,
    control: mpsc::UnboundedReceiver<Control>,
}

/// The writer task: responses first (biased), then control, then notifications; it feeds
/// up to [`WRITE_BATCH_MAX`] frames and flushes once, and announces dropped notifications
/// with one `lagged` before the batch.
async fn write_loop<W>(
    mut sink: W,
    mut inputs: WriterInputs,
    codec_cell: Arc<std::sync::OnceLock<FrameCodec>>,
    dropped: Arc<AtomicU64>,
) where
    W: futures_util::Sink<Message> + Unpin,
{
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
            m = inputs.replies.recv() => match m { Some(m) => Ok(m), None => break },
            c = inputs.control.recv() => match c { Some(c) => Err(c), None => break },
            m = inputs.notifications.recv() => match m { Some(m) => Ok(m), None => break },
        };
        let Some(codec) = codec_cell.get() else {
            // No key yet: only a control message can come (a close).
            if let Err(Control::Close(code, reason)) = first {
                let _ = sink.send(close_message(code, reason)).await;
            }
            break;
        };
        let mut batch: Vec<Result<ServerMessage, Control>> = vec![first];
        while batch.len() < WRITE_BATCH_MAX {
            if let Ok(m) = inputs.replies.try_recv() {
                batch.push(Ok(m));
            } else if let Ok(m) = inputs.notifications.try_recv() {
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
                    let _ = sink.send(close_message(code, reason)).await;
                    return;
                }
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// The reading side of one connection: finds the connection's key from its first frame,
/// decodes requests, checks groups and rate limits, and forwards requests to the driver.
struct Reader {
    ctx: ApiContext,
    /// This connection's id in the node's registry.
    conn: ConnId,
    /// For logs.
    peer: SocketAddr,
    /// Bad frames so far; at `strikes_max` the connection is closed.
    strikes: u32,
    /// The key the first good frame decrypted under (index in `ctx.access.keys`).
    key_index: Option<usize>,
    /// Reused decryption buffer.
    plaintext: Vec<u8>,
    reply_tx: mpsc::UnboundedSender<ServerMessage>,
    notif_tx: mpsc::Sender<ServerMessage>,
    control_tx: mpsc::UnboundedSender<Control>,
    /// Notifications dropped since the last `lagged`.
    dropped: Arc<AtomicU64>,
    /// Requests being handled at once; beyond, reading waits.
    in_flight: Arc<Semaphore>,
    /// The connection's codec, once its key is known (shared with the writer).
    codec_cell: Arc<std::sync::OnceLock<FrameCodec>>,
    /// Whether the connection is in the node's registry (it gets notifications).
    registered: bool,
}

impl Reader {
    async fn on_frame(&mut self, frame: Message) -> Flow {
        match frame {
            Message::Text(text) => self.on_text(text.as_bytes()).await,
            Message::Binary(_) => {
                if self.codec_cell.get().is_some() {
                    let _ = self.reply_tx.send(ServerMessage::error(
                        0,
                        ErrorCode::BinaryFrame,
                        "binary frames are not supported: send text frames (base64 of IV and ciphertext)",
                    ));
                }
                self.close(
                    CloseCode::Unsupported,
                    "binary frames are not supported".into(),
                );
                Flow::Stop
            }
            Message::Close(_) => Flow::Stop,
            // tungstenite answers pings itself; pongs and raw frames need nothing.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Flow::Continue,
        }
    }

    async fn on_text(&mut self, text: &[u8]) -> Flow {
        if self.key_index.is_none() && !self.identify(text) {
            return self.strike("does not decrypt to a JSON object with any accepted key");
        }
        let Some(codec) = self.codec_cell.get() else {
            return Flow::Continue;
        };
        match codec.decode_request(text, &mut self.plaintext) {
            Ok(req) => self.on_request(req).await,
            Err(FrameError::Message(e)) => {
                let _ = self.reply_tx.send(e.reply());
                Flow::Continue
            }
            Err(e) => self.strike(&e.to_string()),
        }
    }

    /// Finds the key whose codec decrypts `text` to a JSON object and registers the
    /// connection with the node; false when no key does.
    fn identify(&mut self, text: &[u8]) -> bool {
        let ctx = &self.ctx;
        let found = ctx.access.keys.iter().position(|k| {
            let codec =
                FrameCodec::new(&k.frame_key).with_frame_bytes_max(ctx.limits.frame_bytes_max);
            codec.decode_json_object(text).is_ok() && {
                let _ = self.codec_cell.set(codec);
                true
            }
        });
        let Some(i) = found else {
            return false;
        };
        self.key_index = Some(i);
        let sink = ConnSink {
            replies: self.reply_tx.clone(),
            notifications: self.notif_tx.clone(),
            dropped: self.dropped.clone(),
            wallet: ctx.access.keys[i].groups.contains(&Group::Wallet),
        };
        ctx.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.conn, sink);
        self.registered = true;
        true
    }

    /// A decoded request: refused (forbidden, rate limited) with an error reply, or
    /// forwarded to the driver once an in-flight slot is free.
    async fn on_request(&mut self, req: Request) -> Flow {
        if let Err(mut refusal) = self.admit(&req).await {
            refusal.account_id = req.account_id;
            let _ = self.reply_tx.send(refusal);
            return Flow::Continue;
        }
        // Wait for a slot: requests beyond the limit wait, they are not refused.
        let permit = self.in_flight.clone().acquire_owned().await.ok();
        let input = DriverInput::Request {
            conn: self.conn,
            req,
            permit,
        };
        if self.ctx.driver.send(input).is_err() {
            self.close(CloseCode::Away, "the node is shutting down".into());
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// Whether the connection's key may send `req` now: its group, then its rate limit.
    async fn admit(&self, req: &Request) -> Result<(), ServerMessage> {
        let index = self.key_index.unwrap_or(0);
        let key = &self.ctx.access.keys[index];
        let group = Group::of(&req.kind);
        if !key.groups.contains(&group) {
            return Err(ServerMessage::error(
                req.id,
                ErrorCode::Forbidden,
                format!(
                    "key {:?} may not use `{}` (group {})",
                    key.name,
                    req.type_name(),
                    group.name()
                ),
            ));
        }
        // Keys without a rate limit skip the bucket's lock: every connection of a key shares
        // it, so it would be a point of contention.
        if key.rate_limit.is_none() {
            return Ok(());
        }
        let mut guard = self.ctx.buckets[index].lock().await;
        let Some(bucket) = guard.as_mut() else {
            return Ok(());
        };
        bucket.take(self.ctx.clock.now_ns()).map_err(|wait| {
            ServerMessage::error(
                req.id,
                ErrorCode::RateLimited,
                format!(
                    "rate limit of key {:?} exceeded ({}); retry after {} ms",
                    key.name,
                    key.rate_limit.map(|r| r.to_string()).unwrap_or_default(),
                    wait.as_millis().max(1)
                ),
            )
        })
    }

    /// Counts a bad frame; at `strikes_max` closes the connection with a reason.
    fn strike(&mut self, why: &str) -> Flow {
        self.strikes += 1;
        let (peer, conn, strikes) = (self.peer, self.conn, self.strikes);
        tracing::debug!(%peer, conn, strikes, why, "bad frame");
        if strikes < self.ctx.limits.strikes_max {
            return Flow::Continue;
        }
        self.close(
            CloseCode::Policy,
            format!("too many bad frames ({strikes}): last one {why}"),
        );
        Flow::Stop
    }

    /// Asks the writer to send a close frame and stop.
    fn close(&self, code: CloseCode, reason: String) {
        let _ = self.control_tx.send(Control::Close(code, reason));
    }

    /// Leaves the node's registry (the driver forgets the connection's subscriptions) and
    /// drops the channels, so the writer drains what is queued and ends.
    fn finish(self) {
        if self.registered {
            self.ctx
                .conns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.conn);
            let _ = self.ctx.driver.send(DriverInput::Closed(self.conn));
        }
    }
}
