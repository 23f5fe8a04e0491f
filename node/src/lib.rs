//! # stegosim-node: the deterministic node and its API
//!
//! This crate is the node of a Stegos-style proof-of-stake network, written as a sans-IO
//! state machine (see `../shared/DESIGN.md`): it never reads a clock, never draws from the
//! operating system's randomness and never touches a socket. The real node, the simulator
//! and the tests all drive the same core.
//!
//! ## Layout
//! - [`api`]: the WebSocket API as data: typed requests, responses and notifications
//!   ([`api::message`]), the encrypted framing codec ([`api::frame`]) and the `api.token`
//!   file ([`api::token`]). It depends on nothing else in this crate, so the load generator
//!   can use it alone.
//! - [`crypto`]: account keys (Curve25519), bech32 addresses, signatures, payload encryption
//!   and recovery phrases.
//! - [`chain`]: blocks, the ledger of unspent outputs, the election and genesis.
//! - [`mempool`]: valid transactions waiting for a block.
//! - [`node`]: the composite sans-IO node (consensus, mempool, restaking); its docs state the
//!   calling contract.
//! - [`invariants`]: checks that must hold after every step of any run (supply, no output
//!   spent twice, agreement on macro blocks, finality), for tests and the simulator.
//! - [`snowball`]: one participant's side of a Snowball round (DC-net mixing and a joint
//!   signature) and the facilitator's pool, as sans-IO machines.
//! - [`storage`]: the key-value store interface, in memory and on disk.
//! - [`wallet`]: accounts with sealed keys, balances, payments, stakes and history; a part of
//!   the [`node`] that the node lends its chain, mempool view and store for each call.

pub mod api;
pub mod chain;
pub mod config;
pub mod crypto;
pub mod invariants;
pub mod mempool;
pub mod node;
pub mod node_api;
pub mod rng;
pub mod server;
pub mod snowball;
pub mod storage;
pub mod wallet;
