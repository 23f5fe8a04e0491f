//! The real node's drivers: the async code that runs the sans-IO core on a clock, over TCP.
//!
//! - [`clock`]: where a driver gets `now` (wall time, or turmoil's virtual time).
//! - [`driver`]: one task per node feeding the core and routing its outputs.
//! - [`peer`]: the peer transport of a local network (loopback TCP).
//! - [`api`]: the WebSocket API server (tokio-tungstenite): limits, strikes, groups, rate
//!   limits, slow readers.
//! - [`access`]: access keys, groups and rate limits.
//! - [`devnet`]: `stegosim node`: a local network of nodes in one process.
//! - [`client`]: a small API client (tests, tools, the load generator).
//! - [`net`]: the TCP types the transport and API server run on (tokio's or turmoil's).
//! - [`echo`]: the plain echo server the benchmarks compare against.

pub mod access;
pub mod api;
pub mod client;
pub mod clock;
pub mod devnet;
pub mod driver;
pub mod echo;
pub mod net;
pub mod peer;
