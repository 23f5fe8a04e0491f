//! # stegosim-node: the deterministic node core
//!
//! This crate is the node of a Stegos-style proof-of-stake network, written as a sans-IO
//! state machine (see DESIGN.md): it never reads a clock, never draws from the operating
//! system's randomness and never touches a socket or a file. The compiler holds it to that:
//! its dependencies have no tokio, tungstenite, turmoil, redb or getrandom, and clippy.toml
//! disallows the clock and `thread_rng`. The real node (`stegosim-server`), the simulator and
//! the tests all drive the same core.
//!
//! ## Layout
//! - [`api`], [`rng`]: re-exported from `stegosim-api` (the API as data, seeded named
//!   random streams), so the core and its users name them through one path.
//! - [`crypto`]: account keys (Curve25519), bech32 addresses, signatures, payload encryption
//!   and recovery phrases.
//! - [`chain`]: blocks, the ledger of unspent outputs, the election and genesis, and where a
//!   transaction is in the pipeline ([`chain::tx::TxStatus`], shared by node and wallet).
//! - [`mempool`]: valid transactions waiting for a block.
//! - [`node`]: the composite sans-IO node; the [`node::Node`] type documents the calling
//!   contract. Its child modules, each adding its part of `impl Node`, quinn-proto style:
//!   - `node::timers`: the timer table, one deadline per [`node::TimerReason`]; its earliest
//!     is `poll_timeout`.
//!   - `node::consensus`: micro blocks (`micro`), view changes (`view_change`), the
//!     macro-block BFT (`macro_bft`) and sync (`sync`).
//!   - [`node::api`]: the node's answers to node-group API requests, subscriptions and
//!     notifications, and the API bodies of blocks.
//!   - `node::wallet`: lends the [`wallet`] the node's state for each call.
//!   - `node::snowball`: `secure_payment` as a Snowball round among nodes.
//!   - `node::restake`: restaking the validator's expired stakes.
//!   - `node::persist`: the chain's blocks in the store, and their replay on a restart.
//! - [`invariants`]: checks that must hold after every step of any run (supply, no output
//!   spent twice, agreement on macro blocks, finality), for tests and the simulator.
//! - [`snowball`]: one participant's side of a Snowball round (DC-net mixing and a joint
//!   signature) and the facilitator's pool, as sans-IO machines.
//! - [`storage`]: the key-value store interface and the in-memory store (the on-disk one
//!   is the server's).
//! - [`config`]: chain parameters (presets `dev`, `testnet`), one documented field each.
//! - [`wallet`]: accounts with sealed keys, balances, payments, stakes and history; a part of
//!   the [`node`] that the node lends its chain, mempool view and store for each call.

pub use stegosim_api as api;
pub use stegosim_api::rng;

pub mod chain;
pub mod config;
pub mod crypto;
pub mod invariants;
pub mod mempool;
pub mod node;
pub mod snowball;
pub mod storage;
pub mod wallet;
