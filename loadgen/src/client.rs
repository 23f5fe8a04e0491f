//! A small API client: one WebSocket connection, requests with ids, replies matched by id,
//! notifications kept in arrival order.

use std::collections::{BTreeMap, VecDeque};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use stegosim_api::frame::FrameCodec;
use stegosim_api::message::{Request, RequestKind, ServerMessage};
use stegosim_api::token::ApiToken;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed or closed.
    #[error("connection: {0}")]
    Connection(String),
    /// The server sent something that is not a valid frame or message.
    #[error("bad frame from the server: {0}")]
    BadFrame(String),
    /// No answer in time.
    #[error("no reply to request {0} in time")]
    Timeout(u64),
}

/// A connection to a node's API.
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    codec: FrameCodec,
    next_id: u64,
    /// Replies that arrived before anyone asked for them, by id.
    replies: BTreeMap<u64, ServerMessage>,
    /// Notifications (messages without id), in arrival order.
    pub notifications: VecDeque<ServerMessage>,
    iv_counter: u128,
    /// Close frames and their reasons, if the server closed.
    pub closed: Option<String>,
}

impl Client {
    /// Connects to `url` (e.g. `ws://127.0.0.1:3144`) with `token`.
    pub async fn connect(url: &str, token: &ApiToken) -> Result<Client, ClientError> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::Connection(e.to_string()))?;
        let mut seed = [0u8; 16];
        #[allow(clippy::disallowed_methods)]
        // frame IVs on a real connection: OS randomness is what a client should use
        let _ = getrandom::fill(&mut seed);
        Ok(Client {
            ws,
            codec: FrameCodec::new(token),
            next_id: 1,
            replies: BTreeMap::new(),
            notifications: VecDeque::new(),
            iv_counter: u128::from_le_bytes(seed),
            closed: None,
        })
    }

    fn next_iv(&mut self) -> [u8; 16] {
        // Unique per message under this key (a counter from a random start), which is all
        // AES-CTR needs from an IV.
        self.iv_counter = self.iv_counter.wrapping_add(1 << 64);
        self.iv_counter.to_be_bytes()
    }

    /// Sends a raw text frame (for tests of bad input).
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ClientError> {
        self.ws
            .send(msg)
            .await
            .map_err(|e| ClientError::Connection(e.to_string()))
    }

    /// Sends `kind` for `account_id` with a fresh id; returns the id.
    pub async fn send(
        &mut self,
        kind: RequestKind,
        account_id: Option<&str>,
    ) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let req = Request {
            id,
            account_id: account_id.map(str::to_string),
            kind,
        };
        let mut json = Vec::new();
        let mut text = String::new();
        let iv = self.next_iv();
        self.codec.encode_request(&req, iv, &mut json, &mut text);
        self.send_raw(Message::text(text)).await?;
        Ok(id)
    }

    /// Reads one message from the server (reply or notification).
    pub async fn recv(&mut self) -> Result<ServerMessage, ClientError> {
        loop {
            let frame = self
                .ws
                .next()
                .await
                .ok_or_else(|| ClientError::Connection("closed".into()))?;
            match frame.map_err(|e| ClientError::Connection(e.to_string()))? {
                Message::Text(t) => {
                    let mut plain = Vec::new();
                    return self
                        .codec
                        .decode_server_message(t.as_bytes(), &mut plain)
                        .map_err(|e| ClientError::BadFrame(e.to_string()));
                }
                Message::Close(c) => {
                    let reason = c
                        .map(|c| format!("{} {}", u16::from(c.code), c.reason))
                        .unwrap_or_default();
                    self.closed = Some(reason.clone());
                    return Err(ClientError::Connection(format!(
                        "closed by the server: {reason}"
                    )));
                }
                _ => continue,
            }
        }
    }

    /// Waits for the reply to request `id` (keeping notifications and other replies).
    pub async fn reply(
        &mut self,
        id: u64,
        timeout: std::time::Duration,
    ) -> Result<ServerMessage, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(m) = self.replies.remove(&id) {
                return Ok(m);
            }
            let m = tokio::time::timeout_at(deadline, self.recv())
                .await
                .map_err(|_| ClientError::Timeout(id))??;
            if m.id == 0 {
                self.notifications.push_back(m);
            } else {
                self.replies.insert(m.id, m);
            }
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn call(
        &mut self,
        kind: RequestKind,
        account_id: Option<&str>,
    ) -> Result<ServerMessage, ClientError> {
        let id = self.send(kind, account_id).await?;
        self.reply(id, std::time::Duration::from_secs(30)).await
    }

    /// Waits for a notification matching `pred`, keeping the others.
    pub async fn notification(
        &mut self,
        pred: impl Fn(&ServerMessage) -> bool,
        timeout: std::time::Duration,
    ) -> Result<ServerMessage, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(i) = self.notifications.iter().position(&pred) {
                return Ok(self.notifications.remove(i).expect("index found above"));
            }
            let m = tokio::time::timeout_at(deadline, self.recv())
                .await
                .map_err(|_| ClientError::Timeout(0))??;
            if m.id == 0 {
                self.notifications.push_back(m);
            } else {
                self.replies.insert(m.id, m);
            }
        }
    }
}
