//! The WebSocket API as data.
//!
//! - [`message`]: every request, response and notification of `seeds/websocket-api.md` and
//!   `PROTOCOL.md` as typed values, with a fast JSON encoding.
//! - [`frame`]: `base64(IV || AES-128-CTR(token, IV)(json))`, the framing of every message.
//! - [`token`]: the `api.token` file: create, load, validate.

pub mod frame;
pub mod message;
pub mod token;
