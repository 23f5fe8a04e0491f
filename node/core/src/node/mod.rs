//! The composite node: chain, consensus, mempool, wallet, Snowball and restaking as one sans-IO
//! state machine, [`Node`]. Its calling contract is documented on the type.
//!
//! ## Layout
//! As quinn-proto splits its `Connection`, this file holds the type, its inputs (`handle_*`,
//! [`Node::submit_transaction`]), its outputs ([`Node::poll_output`], [`Node::poll_timeout`])
//! and the messages and events it exchanges; each concern is a child module that adds its
//! part of `impl Node` and owns its state:
//! - `timers`: the timer table, one deadline per [`TimerReason`]; its minimum is
//!   [`Node::poll_timeout`].
//! - `consensus`: micro blocks, view changes, the macro-block BFT and sync (its docs sum the
//!   protocol up).
//! - [`api`]: the node's side of the WebSocket API (node requests, subscriptions,
//!   notifications, API bodies of blocks).
//! - `wallet`: lends the wallet ([`crate::wallet`]) the node's chain, mempool view and store
//!   for each call, and submits what it builds.
//! - `snowball`: `secure_payment` as a Snowball round among nodes ([`SnowballPeer`]).
//! - `restake`: restaking the validator's expired stakes.
//! - `persist`: the chain's blocks in the store, and replaying them on a restart.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::api::message::ServerMessage;
use crate::chain::block::{MacroBlock, MicroBlock, ViewChangeVote};
use crate::chain::election::Tally;
use crate::chain::genesis::{GenesisKeys, genesis_block};
use crate::chain::ledger::{TxContext, TxError};
use crate::chain::tx::Transaction;
use crate::chain::{Chain, DirectSigChecker, SigChecker};
use crate::config::ChainConfig;
use crate::crypto::{Hash, Keypair, Network, PublicKey};
use crate::mempool::Mempool;
use crate::rng::Seed;
use crate::storage::Store;
use crate::wallet::{Wallet, WalletConfig};

pub mod api;
mod consensus;
mod persist;
mod restake;
mod snowball;
mod timers;
mod wallet;

pub use crate::chain::tx::TxStatus;
pub use consensus::{MacroVote, SYNC_MACROS_MAX, VIEW_PROOF_VOTES_MAX};
pub use snowball::SnowballPeer;
pub use timers::TimerReason;

use consensus::MacroState;
use restake::Restaking;
use timers::TimerTable;

/// Index of a node in its network (the simulator's and the local dev network's peer id).
pub type NodeId = u32;

/// A message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// A transaction to relay and include.
    Transaction(Transaction),
    /// A micro block.
    MicroBlock(Box<MicroBlock>),
    /// A view-change vote.
    ViewChange(ViewChangeVote),
    /// A macro-block proposal for `round`.
    MacroPropose {
        /// The BFT round.
        round: u32,
        /// The proposed block (without multisignature).
        block: Box<MacroBlock>,
    },
    /// A prevote for a macro block.
    MacroPrevote(MacroVote),
    /// A precommit for a macro block.
    MacroPrecommit(MacroVote),
    /// A committed macro block with its multisignature.
    MacroCommitted(Box<MacroBlock>),
    /// "I am at `epoch` with these micro blocks; send me what I miss."
    SyncRequest {
        /// The requester's current epoch.
        epoch: u64,
        /// The requester's micro-block count in that epoch.
        offset: u32,
    },
    /// Blocks answering a sync request.
    SyncResponse {
        /// Final macro blocks from the requester's epoch on (at most [`SYNC_MACROS_MAX`]).
        macros: Vec<MacroBlock>,
        /// The responder's micro blocks of its current epoch.
        micros: Vec<MicroBlock>,
    },
    /// Snowball traffic (`node/snowball.rs`).
    Snowball(SnowballPeer),
    /// The sender's proof for its current view at its tip: votes for that view from more
    /// than 2/3 of the slots (at most [`VIEW_PROOF_VOTES_MAX`]). A node at the same tip and a
    /// lower view adopts the view.
    ViewProof(Vec<ViewChangeVote>),
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dest {
    /// Every peer.
    All,
    /// One peer.
    One(NodeId),
}

/// Something that happened in the node: for traces, notifications and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A micro block was applied.
    MicroBlockPrepared {
        epoch: u64,
        offset: u32,
        view_change: u32,
        hash: Hash,
        leader: PublicKey,
        transactions: usize,
    },
    /// A micro block was reverted.
    MicroBlockReverted {
        epoch: u64,
        offset: u32,
        view_change: u32,
        hash: Hash,
    },
    /// A macro block became final.
    MacroBlockCommitted {
        epoch: u64,
        round: u32,
        hash: Hash,
        transactions: usize,
    },
    /// This node moved to a new view at the current height.
    ViewChange {
        epoch: u64,
        offset: u32,
        view_change: u32,
    },
    /// A transaction known to this node changed status.
    TransactionStatus { tx_hash: Hash, status: TxStatus },
    /// This node submitted a restake transaction.
    Restake {
        tx_hash: Hash,
        stakes: Vec<Hash>,
        amount: i64,
    },
    /// A block or message was refused (for traces; never fatal).
    Refused { what: String, error: String },
    /// The node's synchronisation state changed.
    Synchronized(bool),
}

/// An API connection, numbered by the driver.
pub type ConnId = u64;

/// What the node wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `msg` to `to`.
    Send { to: Dest, msg: Arc<PeerMessage> },
    /// Something happened.
    Event(Event),
    /// Send an API response or notification to one connection.
    Reply { conn: ConnId, msg: ServerMessage },
    /// Send an API notification to every connection (wallet notifications).
    Broadcast(ServerMessage),
}

/// A node's identity and parameters.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The chain.
    pub chain: ChainConfig,
    /// The node's index in its network.
    pub id: NodeId,
    /// Network key when the node is a validator (genesis validator `id`, or its own).
    pub network_key: Option<Keypair>,
    /// Root of the node's randomness.
    pub seed: Seed,
    /// The wallet's settings (KDF cost, the genesis account).
    pub wallet: WalletConfig,
}

/// Password of the genesis-funded account "1" that node 0 of a dev network creates.
pub const GENESIS_ACCOUNT_PASSWORD: &str = "dev";

impl NodeConfig {
    /// Node `id` of a dev network: validator `id` when genesis has one with that index. Node
    /// 0's wallet creates account "1" with the genesis funds (password
    /// [`GENESIS_ACCOUNT_PASSWORD`]) on its first start; the wallet seals keys with the real
    /// KDF ([`WalletConfig::default`]; simulations set `wallet.kdf` to
    /// [`KdfParams::simulation`](crate::crypto::KdfParams::simulation)).
    pub fn genesis_node(chain: ChainConfig, id: NodeId, seed: Seed) -> NodeConfig {
        let keys = GenesisKeys::derive(&chain);
        let network_key = keys.validators.get(id as usize).cloned();
        let snowball = crate::snowball::SnowballConfig::for_chain(&chain);
        NodeConfig {
            chain,
            id,
            network_key,
            seed,
            wallet: WalletConfig {
                genesis_account_password: (id == 0).then(|| GENESIS_ACCOUNT_PASSWORD.into()),
                snowball,
                ..WalletConfig::default()
            },
        }
    }
}

/// The node: one participant of the network, as a sans-IO state machine.
///
/// # Calling contract
/// The node never reads a clock, never draws from the OS and never touches a socket. Its
/// driver (the real node's tokio loop, the simulator, a test) calls:
///
/// 1. [`Node::handle_timeout`]`(now_ns)` when the time returned by [`Node::poll_timeout`] has
///    come (calling it early is harmless);
/// 2. [`Node::handle_peer`]`(now_ns, from, msg)` for every message from another node;
/// 3. [`Node::handle_request`]`(now_ns, conn, req)` for every request of an API connection,
///    and [`Node::connection_closed`] when one closes;
/// 4. [`Node::submit_transaction`]`(now_ns, tx)` for a transaction from a local client;
/// 5. after every call, [`Node::poll_output`] until it returns `None`: messages to send,
///    answers and notifications for API connections, events for traces;
/// 6. then [`Node::poll_timeout`] for when it next wants to be woken, with the reason.
///
/// The getters ([`Node::chain`], [`Node::status`], ...) change nothing and may be called at
/// any time. `now_ns` must never go backwards. Every decision is a function of the node's
/// seed, its inputs and the times they came at, so the same inputs give the same outputs,
/// byte for byte.
#[derive(Debug)]
pub struct Node {
    /// The node's identity, chain parameters, seed and wallet settings.
    cfg: NodeConfig,
    /// The chain as this node sees it: final macro blocks, the current epoch's micro blocks,
    /// the ledger and the election.
    chain: Chain,
    /// Valid transactions waiting for a block.
    mempool: Mempool,
    /// Blocks and wallet records; the node answers a state-changing request only once synced.
    store: Box<dyn Store>,
    /// Checks signatures; shared, so that a simulator's nodes share one cache.
    sigs: Arc<dyn SigChecker + Send + Sync>,
    /// What the driver has not taken yet through [`Node::poll_output`], oldest first.
    outputs: VecDeque<Output>,
    /// The latest time a driver passed in.
    now_ns: u64,
    /// When the node wants to be woken, by reason; re-derived after every input.
    timers: TimerTable,
    /// View at the current height.
    view: u32,
    /// When this node started waiting at the current view of the current height.
    view_started_ns: u64,
    /// View-change votes for the current height: view -> voter -> vote.
    votes: BTreeMap<u32, Tally<ViewChangeVote>>,
    /// Highest view this node voted for at the current height.
    voted_view: u32,
    /// Macro-block BFT state of the current epoch.
    macro_state: MacroState,
    /// Automatic restaking of this validator's expired stakes.
    restaking: Restaking,
    /// Whether the node believes it is at the network's tip.
    synchronized: bool,
    /// When this node last asked a peer for blocks.
    last_sync_request_ns: Option<u64>,
    /// Transactions this node has seen go into blocks, for status events (hash -> status).
    tracked: BTreeMap<Hash, TxStatus>,
    /// API connections subscribed to `status_changed`.
    status_subs: BTreeSet<ConnId>,
    /// API connections subscribed to chain notifications.
    chain_subs: BTreeSet<ConnId>,
    /// The wallet: accounts, their outputs, history and transactions.
    wallet: Wallet,
    /// Snowball: the pool when this node facilitates, its accounts' rounds.
    snowball: snowball::NodeSnowball,
}

impl Node {
    /// A node starting at `now_ns` on `store`: a fresh chain from genesis, or the chain it
    /// stored before (a restart).
    pub fn new(cfg: NodeConfig, store: Box<dyn Store>, now_ns: u64) -> Result<Node, String> {
        Self::with_sig_checker(cfg, store, now_ns, Arc::new(DirectSigChecker))
    }

    /// [`Node::new`] with a shared signature checker (a simulator's cache).
    pub fn with_sig_checker(
        cfg: NodeConfig,
        store: Box<dyn Store>,
        now_ns: u64,
        sigs: Arc<dyn SigChecker + Send + Sync>,
    ) -> Result<Node, String> {
        cfg.chain.validate()?;
        let keys = GenesisKeys::derive(&cfg.chain);
        let genesis = genesis_block(&cfg.chain, &keys);
        let chain = Chain::from_genesis(cfg.chain.clone(), genesis);
        let network = Network::from_prefix(&cfg.chain.address_prefix).unwrap_or(Network::Dev);
        let mut node = Node {
            wallet: Wallet::new(cfg.wallet.clone(), cfg.seed, network),
            restaking: Restaking::new(&cfg.seed),
            cfg,
            chain,
            mempool: Mempool::new(),
            store,
            sigs,
            outputs: VecDeque::new(),
            now_ns,
            timers: TimerTable::default(),
            view: 0,
            view_started_ns: now_ns,
            votes: BTreeMap::new(),
            voted_view: 0,
            macro_state: MacroState::default(),
            synchronized: false,
            last_sync_request_ns: None,
            tracked: BTreeMap::new(),
            status_subs: BTreeSet::new(),
            chain_subs: BTreeSet::new(),
            snowball: snowball::NodeSnowball::default(),
        };
        node.recover()?;
        node.start_epoch();
        node.start_height();
        node.macro_state.round_started_ns = now_ns;
        node.start_wallet(keys.funded_account, &keys.accounts)?;
        node.rearm_timers();
        Ok(node)
    }

    // ----- getters -------------------------------------------------------------------------

    /// The node's index.
    pub fn id(&self) -> NodeId {
        self.cfg.id
    }

    /// The chain as this node sees it.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The node's network key, when it is a validator.
    pub fn network_pkey(&self) -> Option<PublicKey> {
        self.cfg.network_key.as_ref().map(|k| *k.public())
    }

    /// The view at the current height.
    pub fn view_change(&self) -> u32 {
        self.view
    }

    /// Whether the node believes it is at the network's tip.
    pub fn is_synchronized(&self) -> bool {
        self.synchronized
    }

    /// Status of a transaction this node has seen.
    pub fn tx_status(&self, hash: &Hash) -> Option<&TxStatus> {
        self.tracked.get(hash)
    }

    /// The node's idea of now (the latest time a driver passed in).
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The wallet (accounts and their state).
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    // ----- inputs --------------------------------------------------------------------------

    /// What a transaction is checked against: the current epoch, and now but never before
    /// the tip (a driver may lag behind a block's timestamp).
    fn tx_context(&self) -> TxContext {
        TxContext {
            epoch: self.chain.epoch(),
            now_ns: self.now_ns.max(self.chain.tip_timestamp_ns()),
        }
    }

    /// A transaction from a local client (or this node's wallet): validated, added to the
    /// mempool and relayed. Returns its hash, or why it was refused.
    ///
    /// A duplicate never changes a status: a transaction the node already holds (waiting in
    /// the mempool, in a micro block, committed) is refused as `already_known`, and a refused
    /// resubmission of a transaction with a status (`conflicted`, `rejected`) keeps it. Only
    /// a transaction new to the node gets its status (`accepted` or `rejected`) from here.
    pub fn submit_transaction(&mut self, now_ns: u64, tx: Transaction) -> Result<Hash, TxError> {
        self.set_now(now_ns);
        // Submitted again after it went into a block: already known. Refusing it as the
        // mempool would (its inputs are spent) reported a final transaction "rejected" and
        // overwrote its status.
        let h = tx.hash();
        if matches!(
            self.tracked.get(&h),
            Some(TxStatus::Prepared { .. } | TxStatus::Committed { .. })
        ) {
            return Err(TxError::AlreadyKnown(h));
        }
        let ctx = self.tx_context();
        let relay = tx.clone();
        match self.mempool.insert(
            tx,
            &self.chain.ledger,
            ctx,
            &self.cfg.chain,
            self.sigs.as_ref(),
        ) {
            Ok(h) => {
                self.set_status(h, TxStatus::Accepted);
                self.send(Dest::All, PeerMessage::Transaction(relay));
                Ok(h)
            }
            // Waiting in the mempool already (its status, if it has one, is live), or known
            // with a status that a second refusal must not overwrite (a transaction reported
            // `rejected` while it still waited released its inputs in the wallet, then
            // committed): refused, status untouched.
            Err(e @ TxError::AlreadyKnown(_)) => Err(e),
            Err(e) if self.tracked.contains_key(&h) => Err(e),
            Err(e) => {
                self.set_status(
                    h,
                    TxStatus::Rejected {
                        error: e.to_string(),
                        code: e.code().into(),
                    },
                );
                Err(e)
            }
        }
    }

    /// A message from peer `from`.
    pub fn handle_peer(&mut self, now_ns: u64, from: NodeId, msg: &PeerMessage) {
        self.set_now(now_ns);
        match msg {
            PeerMessage::Transaction(tx) => {
                let ctx = self.tx_context();
                let h = tx.hash();
                if !self.mempool.contains(&h)
                    && self
                        .mempool
                        .insert(
                            tx.clone(),
                            &self.chain.ledger,
                            ctx,
                            &self.cfg.chain,
                            self.sigs.as_ref(),
                        )
                        .is_ok()
                {
                    self.send(Dest::All, PeerMessage::Transaction(tx.clone()));
                }
            }
            PeerMessage::MicroBlock(b) => self.on_micro_block(from, b),
            PeerMessage::ViewChange(v) => self.on_view_change_vote(from, v),
            PeerMessage::MacroPropose { round, block } => {
                self.on_macro_proposal(from, *round, block)
            }
            PeerMessage::MacroPrevote(v) => self.on_prevote(from, v),
            PeerMessage::MacroPrecommit(v) => self.on_precommit(from, v),
            PeerMessage::MacroCommitted(b) => self.on_macro_committed(from, b),
            PeerMessage::SyncRequest { epoch, offset } => {
                self.on_sync_request(from, *epoch, *offset)
            }
            PeerMessage::SyncResponse { macros, micros } => self.on_sync_response(macros, micros),
            PeerMessage::Snowball(m) => self.on_snowball_peer(from, m),
            PeerMessage::ViewProof(votes) => self.on_view_proof(votes),
        }
        self.after_input();
    }

    /// The timer fired (or the driver just wants the node to look at the time).
    pub fn handle_timeout(&mut self, now_ns: u64) {
        self.set_now(now_ns);
        // At most one consensus timer is set at a time (`consensus_deadline`), so acting on
        // one cannot make another of this list stale.
        for reason in self.timers.expired(self.now_ns) {
            match reason {
                TimerReason::ProduceMicroBlock => self.produce_micro_block(),
                TimerReason::ViewChangeTimeout => self.view_change_timeout(),
                TimerReason::MacroRoundTimeout => self.macro_round_timeout(),
                // Snowball checks each of its deadlines itself, below.
                TimerReason::Snowball(_) => {}
            }
        }
        self.snowball_timeout();
        self.after_input();
    }

    // ----- outputs -------------------------------------------------------------------------

    /// The next thing the node wants done, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the node next wants [`Node::handle_timeout`], and why: the earliest deadline of
    /// the timer table.
    pub fn poll_timeout(&self) -> Option<(u64, TimerReason)> {
        debug_assert_eq!(
            self.timers,
            self.derive_timers(),
            "an input changed the node's state without re-deriving its timers"
        );
        self.timers.next()
    }

    // ----- helpers -------------------------------------------------------------------------

    /// Takes the driver's time; it must not go backwards (debug builds check), and the node's
    /// clock never does.
    fn set_now(&mut self, now_ns: u64) {
        debug_assert!(
            now_ns >= self.now_ns,
            "time went backwards: {} < {}",
            now_ns,
            self.now_ns
        );
        self.now_ns = self.now_ns.max(now_ns);
    }

    /// An event, for traces, tests and the invariant checker.
    fn emit(&mut self, e: Event) {
        self.outputs.push_back(Output::Event(e));
    }

    /// A message to peers; shared (`Arc`) so that a broadcast is not copied per peer.
    fn send(&mut self, to: Dest, msg: PeerMessage) {
        self.outputs.push_back(Output::Send {
            to,
            msg: Arc::new(msg),
        });
    }

    /// A transaction's new status: remembered, told to the wallet, and an event.
    fn set_status(&mut self, tx_hash: Hash, status: TxStatus) {
        self.tracked.insert(tx_hash, status.clone());
        self.wallet_hook(|w, ctx| w.on_tx_status(ctx, &tx_hash, &status));
        self.emit(Event::TransactionStatus { tx_hash, status });
    }

    /// What every input ends with: the synchronisation state, automatic restaking, Snowball's
    /// change of facilitator, and last the timers, which depend on all of it.
    fn after_input(&mut self) {
        let synced = self.now_ns
            <= self.chain.tip_timestamp_ns().saturating_add(
                2 * self.cfg.chain.block_interval_ns + self.cfg.chain.micro_block_timeout_ns,
            )
            || self.chain.epoch_full();
        if synced != self.synchronized {
            self.synchronized = synced;
            self.emit(Event::Synchronized(synced));
            self.notify_status();
        }
        self.maybe_restake();
        self.snowball_tick();
        self.rearm_timers();
    }

    /// The timer table as the node's state implies it: the consensus deadline and Snowball's
    /// earliest one.
    fn derive_timers(&self) -> TimerTable {
        let mut timers = TimerTable::default();
        if let Some((at_ns, reason)) = self.consensus_deadline() {
            timers.set(reason, at_ns);
        }
        if let Some((at_ns, which)) = self.snowball_deadline() {
            timers.set(TimerReason::Snowball(which), at_ns);
        }
        timers
    }

    /// Sets the timer table from the node's state: called at the end of every input, the one
    /// place the table is written, so that no deadline outlives the state it came from.
    fn rearm_timers(&mut self) {
        self.timers = self.derive_timers();
    }
}
