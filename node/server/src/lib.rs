//! # stegosim-server: the real node
//!
//! The async code that runs the sans-IO core (`stegosim-node`) on a clock, over TCP, with
//! files on disk: everything of the node that touches the operating system.
//!
//! ## Layout
//! - [`clock`]: where a driver gets `now` (wall time, or turmoil's virtual time).
//! - [`driver`]: one task per node feeding the core and routing its outputs.
//! - [`peer`]: the peer transport of a local network (loopback TCP).
//! - [`api`]: the WebSocket API server (tokio-tungstenite): limits, strikes, groups, rate
//!   limits, slow readers.
//! - [`access`]: access keys, groups and rate limits.
//! - [`devnet`]: `stegosim node`: a local network of nodes in one process.
//! - [`disk_store`]: the on-disk store (`redb`) behind the core's `Store` interface.
//! - [`token_file`]: creating `api.token` on first start (OS randomness, atomic rename).
//! - [`net`]: the TCP types the transport and API server run on (tokio's, and turmoil's with
//!   the `turmoil` feature).
//! - [`echo`]: the plain echo server the benchmarks compare against.

pub mod access;
pub mod api;
pub mod clock;
pub mod devnet;
pub mod disk_store;
pub mod driver;
pub mod echo;
pub mod net;
pub mod peer;
pub mod token_file;
