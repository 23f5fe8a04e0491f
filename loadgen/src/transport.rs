//! Connections: what carries a worker's requests to a node and its replies back.
//!
//! [`Connection`] is the seam between the workload models and the network: it takes a
//! request's JSON text and yields each server message's JSON text with the time it arrived.
//! Framing and encryption are its business. [`WsConnection`] is the real one (any WebSocket
//! stream, e.g. tokio-tungstenite over TCP, with the API's AES-CTR frames); a simulator
//! implements the trait over its simulated sockets, or skips it and drives
//! [`crate::worker::Worker`] directly.
//!
//! The trait is poll-based, like `futures::Sink` plus `Stream`, so one task can read and
//! write the same connection without ever blocking reads behind a full send buffer (which
//! could deadlock against a server that stops reading while its own writes are blocked).

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use stegosim_api::frame::FrameCodec;
use stegosim_api::token::ApiToken;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::clock::Clock;

/// Why a connection cannot go on, or one message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// The connection closed or failed; nothing more will come.
    #[error("{0}")]
    Closed(String),
    /// One message could not be read (not a frame of this key); the connection goes on.
    #[error("unreadable message: {0}")]
    Unreadable(String),
}

/// A connection that sends requests and yields replies with a timestamp.
///
/// Calling contract (as for `futures::Sink`): call [`start_send`](Self::start_send) only
/// after [`poll_ready`](Self::poll_ready) returned `Ready(Ok)`; call
/// [`poll_flush`](Self::poll_flush) after a batch of sends. Every method registers the
/// task's waker when it returns `Pending`.
pub trait Connection: Unpin {
    /// Whether the connection can take another request now.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnError>>;
    /// Queues the request whose JSON text is `json`.
    fn start_send(&mut self, json: &[u8]) -> Result<(), ConnError>;
    /// Pushes queued requests out.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnError>>;
    /// The next server message: its JSON text into `out` (cleared first), and the time it
    /// was read, in the clock's ns.
    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
    ) -> Poll<Result<u64, ConnError>>;
}

/// The API over a WebSocket: every message a text frame of
/// `base64(IV || AES-128-CTR(token, IV)(json))`.
#[derive(Debug)]
pub struct WsConnection<S> {
    ws: S,
    codec: FrameCodec,
    clock: Arc<dyn Clock>,
    /// The next IV, as a counter: unique per message under the key, which is all AES-CTR
    /// needs (a random start, then +2^64 per message, as the node's client does).
    iv: u128,
}

impl<S> WsConnection<S> {
    /// Wraps a WebSocket stream. `iv_start` seeds the IV counter (random for a real run,
    /// from the seed in a simulation).
    pub fn new(ws: S, token: &ApiToken, iv_start: [u8; 16], clock: Arc<dyn Clock>) -> Self {
        WsConnection {
            ws,
            codec: FrameCodec::new(token),
            clock,
            iv: u128::from_le_bytes(iv_start),
        }
    }
}

fn closed(e: tungstenite::Error) -> ConnError {
    ConnError::Closed(e.to_string())
}

impl<S> Connection for WsConnection<S>
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin,
{
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnError>> {
        std::pin::Pin::new(&mut self.ws)
            .poll_ready(cx)
            .map_err(closed)
    }

    fn start_send(&mut self, json: &[u8]) -> Result<(), ConnError> {
        self.iv = self.iv.wrapping_add(1 << 64);
        let mut text = String::with_capacity(FrameCodec::frame_text_bytes(json.len()));
        self.codec
            .encode_into(json, self.iv.to_be_bytes(), &mut text);
        std::pin::Pin::new(&mut self.ws)
            .start_send(Message::text(text))
            .map_err(closed)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnError>> {
        std::pin::Pin::new(&mut self.ws)
            .poll_flush(cx)
            .map_err(closed)
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
    ) -> Poll<Result<u64, ConnError>> {
        loop {
            let msg = match std::pin::Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    return Poll::Ready(Err(ConnError::Closed("closed by the server".into())));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(closed(e))),
                Poll::Ready(Some(Ok(m))) => m,
            };
            let at = self.clock.now_ns();
            match msg {
                Message::Text(t) => {
                    out.clear();
                    return Poll::Ready(match self.codec.decode_into(t.as_bytes(), out) {
                        Ok(_) => Ok(at),
                        Err(e) => Err(ConnError::Unreadable(e.to_string())),
                    });
                }
                Message::Close(c) => {
                    let reason = c
                        .map(|c| {
                            format!("closed by the server: {} {}", u16::from(c.code), c.reason)
                        })
                        .unwrap_or_else(|| "closed by the server".into());
                    return Poll::Ready(Err(ConnError::Closed(reason)));
                }
                Message::Binary(_) => {
                    return Poll::Ready(Err(ConnError::Unreadable(
                        "a binary frame (the API sends text frames)".into(),
                    )));
                }
                // tungstenite answers pings itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }
}
