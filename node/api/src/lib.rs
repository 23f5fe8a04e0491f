//! # stegosim-api: the node's WebSocket API as data
//!
//! What a client and the node exchange, and nothing that runs: no tokio, no sockets, no file
//! creation, no OS randomness. The node core, the server, the load generator and the
//! simulator all use these types, so a request means the same thing everywhere.
//!
//! ## Layout
//! - [`message`]: every request, response and notification of `seeds/websocket-api.md` and
//!   `PROTOCOL.md` as typed values, with a fast JSON encoding.
//! - [`frame`]: `base64(IV || AES-128-CTR(token, IV)(json))`, the framing of every message.
//! - [`token`]: the API token: parsing its text, reading the `api.token` file, access keys'
//!   frame keys (creating the file is the server's: `stegosim_server::token_file`).
//! - [`rng`]: seeded randomness split into named streams (frame IVs, and everything random
//!   in the node and the simulator; the core re-exports it).
//! - [`group`]: the API groups access keys grant, and which group each request belongs to.

pub mod frame;
pub mod group;
pub mod message;
pub mod rng;
pub mod token;
