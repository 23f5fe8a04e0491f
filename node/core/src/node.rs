//! The composite node: chain, consensus, mempool and restaking as one sans-IO state machine.
//!
//! # Calling contract
//! The node never reads a clock, never draws from the OS and never touches a socket. Its
//! driver (the real node's tokio loop, the simulator, a test) calls:
//!
//! 1. [`Node::handle_timeout`]`(now_ns)` when the time returned by [`Node::poll_timeout`] has
//!    come (calling it early is harmless);
//! 2. [`Node::handle_peer`]`(now_ns, from, msg)` for every message from another node;
//! 3. [`Node::submit_transaction`]`(now_ns, tx)` for a transaction from a local client;
//! 4. after every call, [`Node::poll_output`] until it returns `None`: messages to send,
//!    events for traces and notifications;
//! 5. then [`Node::poll_timeout`] for when it next wants to be woken, with the reason.
//!
//! `now_ns` must never go backwards. Every decision is a function of the node's seed, its
//! inputs and the times they came at, so the same inputs give the same outputs, byte for byte.
//!
//! # Consensus, briefly
//! - The leader of the next height (drawn from the epoch's slots with the tip's randomness
//!   and the current view) produces a micro block `block_interval_ns` after the tip.
//! - A validator that sees no block `micro_block_timeout_ns` past that votes a view change;
//!   votes from more than 2/3 of the slots move everyone to the next view, whose leader
//!   produces at once with the votes as proof.
//! - A block with a higher view change at a height we already filled wins: our tail from
//!   that height is reverted (fork resolution), its transactions go back to the mempool.
//!   Two forks whose first differing blocks have the same view (a leader made two blocks at
//!   one height, as after `pop_micro_block`) are ranked by length, then by the lower hash.
//! - When the epoch has all its micro blocks, the validators run a BFT round on the macro
//!   block (propose, prevote, precommit; more than 2/3 of slots each; round timeouts grow
//!   with the round; a validator that precommitted is locked on that block until a later
//!   round shows more than 2/3 prevotes for another). Prevotes of a later round from more
//!   than 1/3 of the slots pull a node into that round. The committed macro block carries
//!   the precommits and is final.
//! - A node that learns it is behind (a block or vote from a later height) asks the sender
//!   for what it misses ([`PeerMessage::SyncRequest`]); a node answers a view-change vote
//!   from a lower height of its epoch with its blocks.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::api::message::{RequestKind, ServerKind, ServerMessage};
use crate::chain::block::{MacroBlock, MicroBlock, ViewChangeVote};
use crate::chain::election::Tally;
use crate::chain::genesis::{GenesisKeys, genesis_block};
use crate::chain::ledger::{TxContext, TxError};
use crate::chain::tx::{Output as TxOutput, StakeOutput, Transaction};
use crate::chain::{BlockError, Chain, DirectSigChecker, SigChecker};
use crate::config::ChainConfig;
use crate::crypto::{Hash, Hasher, Keypair, Network, PublicKey, SecretKey, Signature};
use crate::mempool::Mempool;
use crate::rng::{Seed, Stream};
use crate::storage::Store;
use crate::wallet::{Handled, Wallet, WalletConfig, WalletCtx};

mod snowball;
pub use snowball::SnowballPeer;

/// Index of a node in its network (the simulator's and the local dev network's peer id).
pub type NodeId = u32;

/// Largest number of macro blocks one sync response carries; a node far behind asks again.
pub const SYNC_MACROS_MAX: usize = 64;

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
}

/// A signed macro-block vote (prevote or precommit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroVote {
    /// Epoch the block closes.
    pub epoch: u64,
    /// BFT round of the vote.
    pub round: u32,
    /// Hash of the block voted for.
    pub block_hash: Hash,
    /// The voter's network key.
    pub validator: PublicKey,
    /// Signature: over the prevote hash, or over [`MacroBlock::precommit_hash`].
    pub signature: Signature,
}

/// Fork choice between two forks of the current epoch whose first differing blocks (at index
/// `i`) have the same view change, which happens only when a leader made two blocks at one
/// height and view (as after `pop_micro_block`). Without a rule here, each node kept the fork
/// it had, and a network split evenly between the two stalled for good (neither side can
/// gather the votes to change view). The longer fork wins; between equally long ones, the
/// lower hash of the first differing block. Every node ranks two forks the same way, so they
/// converge once they have seen each other's (sync requests on blocks from higher offsets and
/// on votes from our height that name another tip).
fn equal_view_fork_wins(theirs: &[MicroBlock], ours: &[MicroBlock], i: usize) -> bool {
    match theirs.len().cmp(&ours.len()) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => theirs[i].hash() < ours[i].hash(),
    }
}

fn prevote_hash(epoch: u64, round: u32, block_hash: &Hash) -> Hash {
    let mut h = Hasher::new("stegosim prevote v1");
    h.update_u64(epoch)
        .update_u32(round)
        .update_hash(block_hash);
    h.finalize()
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dest {
    /// Every peer.
    All,
    /// One peer.
    One(NodeId),
}

/// Why a transaction left the pipeline, or where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    /// Accepted into the mempool.
    Accepted,
    /// Refused by the mempool, with the reason.
    Rejected { error: String, code: String },
    /// In a micro block.
    Prepared { epoch: u64, offset: u32 },
    /// Its micro block was reverted; it is back in the mempool (or conflicted).
    Rollback { epoch: u64, offset: u32 },
    /// In a final macro block.
    Committed { epoch: u64 },
    /// Dropped because another transaction spent one of its inputs.
    Conflicted { epoch: u64, offset: Option<u32> },
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

/// Why the node wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerReason {
    /// Produce the next micro block (this node leads).
    ProduceMicroBlock,
    /// The block for this height is late: vote a view change.
    ViewChangeTimeout,
    /// The macro-block round timed out: move to the next round.
    MacroRoundTimeout,
    /// A Snowball pool check or phase deadline.
    Snowball(crate::snowball::SnowballTimer),
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

/// Votes collected for the macro block of the current epoch.
#[derive(Debug, Clone, Default)]
struct MacroState {
    /// Current BFT round.
    round: u32,
    /// When the round started.
    round_started_ns: u64,
    /// Proposals seen, by block hash.
    proposals: BTreeMap<Hash, MacroBlock>,
    /// Prevotes: (round, hash) -> voter -> vote.
    prevotes: BTreeMap<(u32, Hash), Tally<MacroVote>>,
    /// Precommits: hash -> voter -> signature.
    precommits: BTreeMap<Hash, Tally<Signature>>,
    /// Rounds this node prevoted in.
    prevoted: BTreeSet<u32>,
    /// Rounds this node precommitted in.
    precommitted: BTreeSet<u32>,
    /// The block this node is locked on, and the round it locked in.
    locked: Option<(Hash, u32)>,
    /// Whether this node proposed in the current round.
    proposed: bool,
}

/// The node. See the module documentation for the calling contract.
#[derive(Debug)]
pub struct Node {
    cfg: NodeConfig,
    chain: Chain,
    mempool: Mempool,
    store: Box<dyn Store>,
    sigs: Arc<dyn SigChecker + Send + Sync>,
    outputs: VecDeque<Output>,
    now_ns: u64,
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
    /// Whether expired stakes are restaked automatically (default on, not persisted).
    restaking_enabled: bool,
    /// Offset of the epoch at which this node restakes.
    restake_offset: u32,
    /// Epoch in which this node last restaked automatically.
    restaked_epoch: Option<u64>,
    /// Randomness for restake offsets.
    restake_rng: Stream,
    /// Randomness for transaction output nonces.
    nonce_rng: Stream,
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

const STORE_MACRO: &[u8] = b"chain/macro/";
const STORE_MICRO: &[u8] = b"chain/micro/";

fn key_with(prefix: &[u8], a: u64, b: u32) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&a.to_be_bytes());
    k.extend_from_slice(&b.to_be_bytes());
    k
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
            restake_rng: cfg.seed.stream("restake"),
            nonce_rng: cfg.seed.stream("nonce"),
            cfg,
            chain,
            mempool: Mempool::new(),
            store,
            sigs,
            outputs: VecDeque::new(),
            now_ns,
            view: 0,
            view_started_ns: now_ns,
            votes: BTreeMap::new(),
            voted_view: 0,
            macro_state: MacroState::default(),
            restaking_enabled: true,
            restake_offset: 0,
            restaked_epoch: None,
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
        Ok(node)
    }

    /// Loads the wallet (every account sealed), creates the genesis account on a first start
    /// when configured, and resubmits the wallet's transactions the mempool lost.
    fn start_wallet(&mut self, funded: Keypair, accounts: &[Keypair]) -> Result<(), String> {
        self.wallet.load(self.store.as_mut(), &self.chain)?;
        let (created, notes) = self.with_wallet(|w, ctx| w.create_genesis_account(ctx, funded));
        created.map_err(|e| format!("genesis account: {e}"))?;
        self.broadcast(notes);
        let (created, notes) = self.with_wallet(|w, ctx| w.create_genesis_accounts(ctx, accounts));
        created.map_err(|e| format!("genesis accounts: {e}"))?;
        self.broadcast(notes);
        let resubmit = self
            .wallet
            .restart_pending(&self.chain, self.store.as_mut());
        for tx in resubmit {
            // A refusal becomes the transaction's status (rejected), which the wallet records.
            let _ = self.submit_transaction(self.now_ns, tx);
        }
        self.sync_store();
        Ok(())
    }

    /// Replays the blocks in the store.
    fn recover(&mut self) -> Result<(), String> {
        let macros = self
            .store
            .scan_prefix(STORE_MACRO)
            .map_err(|e| e.to_string())?;
        for (_, v) in macros {
            let b: MacroBlock = postcard::from_bytes(&v)
                .map_err(|e| format!("stored macro block is corrupt: {e}"))?;
            self.chain
                .apply_macro(b, self.sigs.as_ref())
                .map_err(|e| format!("stored macro block does not apply: {e}"))?;
        }
        let micros = self
            .store
            .scan_prefix(STORE_MICRO)
            .map_err(|e| e.to_string())?;
        for (k, v) in micros {
            let b: MicroBlock = postcard::from_bytes(&v)
                .map_err(|e| format!("stored micro block is corrupt: {e}"))?;
            if b.epoch != self.chain.epoch() {
                // A leftover of an epoch whose macro block is stored: clean it up.
                self.store.delete(&k);
                continue;
            }
            self.chain
                .apply_micro(b, self.sigs.as_ref())
                .map_err(|e| format!("stored micro block does not apply: {e}"))?;
        }
        Ok(())
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

    /// Whether automatic restaking is on.
    pub fn restaking_enabled(&self) -> bool {
        self.restaking_enabled
    }

    /// Turns automatic restaking on or off; returns the previous setting.
    pub fn set_restaking(&mut self, enabled: bool) -> bool {
        std::mem::replace(&mut self.restaking_enabled, enabled)
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

    /// An API connection closed: forget its subscriptions.
    pub fn connection_closed(&mut self, conn: ConnId) {
        self.status_subs.remove(&conn);
        self.chain_subs.remove(&conn);
    }

    pub(crate) fn subscribe_status(&mut self, conn: ConnId) {
        self.status_subs.insert(conn);
    }

    pub(crate) fn subscribe_chain(&mut self, conn: ConnId) {
        self.chain_subs.insert(conn);
    }

    pub(crate) fn advance_time(&mut self, now_ns: u64) {
        self.set_now(now_ns);
    }

    pub(crate) fn push_output(&mut self, out: Output) {
        self.outputs.push_back(out);
    }

    /// Sends a chain notification to every chain subscriber, then `status_changed` to every
    /// status subscriber.
    fn notify_chain(&mut self, kind: Option<ServerKind>) {
        if let Some(kind) = kind {
            let subs: Vec<ConnId> = self.chain_subs.iter().copied().collect();
            for conn in subs {
                self.outputs.push_back(Output::Reply {
                    conn,
                    msg: ServerMessage::new(kind.clone()),
                });
            }
        }
        self.notify_status();
    }

    fn notify_status(&mut self) {
        if self.status_subs.is_empty() {
            return;
        }
        let status = self.status();
        let subs: Vec<ConnId> = self.status_subs.iter().copied().collect();
        for conn in subs {
            self.outputs.push_back(Output::Reply {
                conn,
                msg: ServerMessage::new(ServerKind::StatusChanged(status.clone())),
            });
        }
    }

    // ----- inputs --------------------------------------------------------------------------

    fn set_now(&mut self, now_ns: u64) {
        debug_assert!(
            now_ns >= self.now_ns,
            "time went backwards: {} < {}",
            now_ns,
            self.now_ns
        );
        self.now_ns = self.now_ns.max(now_ns);
    }

    fn emit(&mut self, e: Event) {
        self.outputs.push_back(Output::Event(e));
    }

    fn send(&mut self, to: Dest, msg: PeerMessage) {
        self.outputs.push_back(Output::Send {
            to,
            msg: Arc::new(msg),
        });
    }

    fn set_status(&mut self, tx_hash: Hash, status: TxStatus) {
        self.tracked.insert(tx_hash, status.clone());
        self.wallet_hook(|w, ctx| w.on_tx_status(ctx, &tx_hash, &status));
        self.emit(Event::TransactionStatus { tx_hash, status });
    }

    // ----- wallet --------------------------------------------------------------------------

    /// Lends the wallet the node's state for one call; returns the call's result and the
    /// wallet's notifications.
    fn with_wallet<R>(
        &mut self,
        f: impl FnOnce(&mut Wallet, &mut WalletCtx) -> R,
    ) -> (R, Vec<ServerMessage>) {
        let mut notify = Vec::new();
        let now_ns = self.now_ns.max(self.chain.tip_timestamp_ns());
        let mut ctx = WalletCtx {
            chain: &self.chain,
            claimed: self.mempool.claimed(),
            store: self.store.as_mut(),
            now_ns,
            network_key: self.cfg.network_key.as_ref(),
            notify: &mut notify,
        };
        let r = f(&mut self.wallet, &mut ctx);
        (r, notify)
    }

    /// A wallet hook: its notifications go out at once.
    fn wallet_hook(&mut self, f: impl FnOnce(&mut Wallet, &mut WalletCtx)) {
        let ((), notes) = self.with_wallet(f);
        self.broadcast(notes);
    }

    fn broadcast(&mut self, notes: Vec<ServerMessage>) {
        self.outputs
            .extend(notes.into_iter().map(Output::Broadcast));
    }

    /// A wallet request from connection `conn`: answered (with `id`) by the wallet, after
    /// the node submitted the transaction it built, if any; then its notifications.
    pub(crate) fn wallet_request(
        &mut self,
        conn: ConnId,
        id: u64,
        account_id: Option<String>,
        kind: RequestKind,
    ) {
        if let RequestKind::SecurePayment(p) = kind {
            self.secure_payment(conn, id, account_id, p);
            return;
        }
        let (handled, mut notes) =
            self.with_wallet(|w, ctx| w.handle_request(ctx, account_id.as_deref(), kind));
        let answer = match handled {
            Handled::Reply(answer) => answer,
            Handled::Submit(pending) => {
                let result = self.submit_transaction(self.now_ns, pending.transaction().clone());
                let (answer, more) =
                    self.with_wallet(|w, ctx| w.finish_submit(ctx, pending, result));
                notes.extend(more);
                answer
            }
        };
        let msg = match answer {
            Ok(mut m) => {
                m.id = id;
                m
            }
            Err(e) => {
                let mut m = ServerMessage::error(id, e.code, e.message);
                m.account_id = account_id;
                m
            }
        };
        self.outputs.push_back(Output::Reply { conn, msg });
        self.broadcast(notes);
    }

    fn tx_context(&self) -> TxContext {
        TxContext {
            epoch: self.chain.epoch(),
            now_ns: self.now_ns.max(self.chain.tip_timestamp_ns()),
        }
    }

    /// A transaction from a local client (or this node's wallet): validated, added to the
    /// mempool and relayed. Returns its hash, or why it was refused.
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
            PeerMessage::SyncResponse { macros, micros } => {
                self.on_sync_response(from, macros, micros)
            }
            PeerMessage::Snowball(m) => self.on_snowball_peer(from, m),
        }
        self.after_input();
    }

    /// The timer fired (or the driver just wants the node to look at the time).
    pub fn handle_timeout(&mut self, now_ns: u64) {
        self.set_now(now_ns);
        if let Some((t, reason)) = self.consensus_poll_timeout() {
            if t <= self.now_ns {
                match reason {
                    TimerReason::ProduceMicroBlock => self.produce_micro_block(),
                    TimerReason::ViewChangeTimeout => self.view_change_timeout(),
                    TimerReason::MacroRoundTimeout => self.macro_round_timeout(),
                    TimerReason::Snowball(_) => {}
                }
            }
        }
        self.snowball_timeout();
        self.after_input();
    }

    /// The next thing the node wants done, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the node next wants [`Node::handle_timeout`], and why.
    pub fn poll_timeout(&self) -> Option<(u64, TimerReason)> {
        let core = self.consensus_poll_timeout();
        let snowball = self
            .snowball_poll_timeout()
            .map(|(t, r)| (t, TimerReason::Snowball(r)));
        match (core, snowball) {
            (Some(c), Some(s)) => Some(if s.0 < c.0 { s } else { c }),
            (c, s) => c.or(s),
        }
    }

    /// The consensus part of [`Node::poll_timeout`].
    fn consensus_poll_timeout(&self) -> Option<(u64, TimerReason)> {
        if self.chain.epoch_full() {
            if !self.is_validator() {
                return None;
            }
            let round_ns = self
                .cfg
                .chain
                .macro_round_timeout_ns
                .saturating_mul(self.macro_state.round as u64 + 1);
            return Some((
                self.macro_state.round_started_ns.saturating_add(round_ns),
                TimerReason::MacroRoundTimeout,
            ));
        }
        let me = self.network_pkey()?;
        if self.chain.election.slots_of(&me) == 0 {
            return None;
        }
        if self.chain.leader_at(self.view) == me {
            let at = if self.view == 0 {
                self.chain
                    .tip_timestamp_ns()
                    .saturating_add(self.cfg.chain.block_interval_ns)
            } else {
                self.view_started_ns
            };
            return Some((at.max(self.view_started_ns), TimerReason::ProduceMicroBlock));
        }
        let wait = if self.view == 0 {
            self.cfg
                .chain
                .block_interval_ns
                .saturating_add(self.cfg.chain.micro_block_timeout_ns)
        } else {
            self.cfg.chain.micro_block_timeout_ns
        };
        let base = if self.view == 0 {
            self.chain.tip_timestamp_ns().max(self.view_started_ns)
        } else {
            self.view_started_ns
        };
        let _ = base;
        Some((
            self.view_started_ns.saturating_add(wait),
            TimerReason::ViewChangeTimeout,
        ))
    }

    // ----- helpers -------------------------------------------------------------------------

    fn is_validator(&self) -> bool {
        self.network_pkey()
            .is_some_and(|pk| self.chain.election.is_validator(&pk))
    }

    fn sign(&self, msg: &Hash) -> Option<(PublicKey, Signature)> {
        let k = self.cfg.network_key.as_ref()?;
        Some((*k.public(), crate::crypto::sign(k.secret(), msg.as_bytes())))
    }

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
    }

    /// A new height: view 0, no votes.
    fn start_height(&mut self) {
        self.view = 0;
        self.voted_view = 0;
        self.votes.clear();
        self.view_started_ns = self.now_ns;
    }

    /// A new epoch: a fresh macro state and a restake offset.
    fn start_epoch(&mut self) {
        self.macro_state = MacroState {
            round_started_ns: self.now_ns,
            ..MacroState::default()
        };
        self.restake_offset =
            self.restake_rng
                .below(self.cfg.chain.micro_blocks_per_epoch as u64) as u32;
    }

    fn persist_micro(&mut self, b: &MicroBlock) {
        let key = key_with(STORE_MICRO, b.epoch, b.offset);
        self.store.put(
            &key,
            &postcard::to_stdvec(b).expect("blocks always serialise"),
        );
    }

    fn unpersist_micro(&mut self, b: &MicroBlock) {
        self.store.delete(&key_with(STORE_MICRO, b.epoch, b.offset));
    }

    fn sync_store(&mut self) {
        if let Err(e) = self.store.sync() {
            self.emit(Event::Refused {
                what: "storage sync".into(),
                error: e.to_string(),
            });
        }
    }

    fn request_sync(&mut self, from: NodeId) {
        let recent = self
            .last_sync_request_ns
            .is_some_and(|t| self.now_ns < t.saturating_add(self.cfg.chain.block_interval_ns / 2));
        if recent {
            return;
        }
        self.last_sync_request_ns = Some(self.now_ns);
        self.send(
            Dest::One(from),
            PeerMessage::SyncRequest {
                epoch: self.chain.epoch(),
                offset: self.chain.offset(),
            },
        );
    }

    // ----- micro blocks --------------------------------------------------------------------

    /// Applies a validated next micro block: persistence, mempool, events, new height.
    fn accept_micro(&mut self, b: MicroBlock) -> Result<(), BlockError> {
        self.chain.apply_micro(b, self.sigs.as_ref())?;
        let b = self.chain.micros.last().expect("just applied").clone();
        self.persist_micro(&b);
        self.sync_store();
        let hashes: Vec<Hash> = b.transactions.iter().map(|t| t.hash()).collect();
        let dropped = self.mempool.prune(&hashes, &self.chain.ledger);
        self.wallet_hook(|w, ctx| w.on_micro_applied(ctx, &b));
        self.emit(Event::MicroBlockPrepared {
            epoch: b.epoch,
            offset: b.offset,
            view_change: b.view_change,
            hash: b.hash(),
            leader: b.leader,
            transactions: b.transactions.len(),
        });
        if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
            self.notify_chain(Some(ServerKind::MicroBlockPrepared(
                crate::node_api::micro_block_body(&b),
            )));
        }
        for h in hashes {
            self.set_status(
                h,
                TxStatus::Prepared {
                    epoch: b.epoch,
                    offset: b.offset,
                },
            );
        }
        for (h, _) in dropped {
            self.set_status(
                h,
                TxStatus::Conflicted {
                    epoch: b.epoch,
                    offset: Some(b.offset),
                },
            );
        }
        self.start_height();
        if self.chain.epoch_full() {
            self.macro_state.round_started_ns = self.now_ns;
            self.maybe_propose_macro();
            self.catch_up_macro_round();
        }
        Ok(())
    }

    /// Reverts the last micro block: events, mempool. Returns it.
    fn revert_micro(&mut self) -> Option<MicroBlock> {
        let b = self.chain.pop_micro()?;
        self.unpersist_micro(&b);
        self.wallet_hook(|w, ctx| w.on_micro_reverted(ctx, &b));
        if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
            self.notify_chain(Some(ServerKind::MicroBlockReverted(
                crate::node_api::micro_block_body(&b),
            )));
        }
        self.emit(Event::MicroBlockReverted {
            epoch: b.epoch,
            offset: b.offset,
            view_change: b.view_change,
            hash: b.hash(),
        });
        for tx in &b.transactions {
            self.set_status(
                tx.hash(),
                TxStatus::Rollback {
                    epoch: b.epoch,
                    offset: b.offset,
                },
            );
        }
        Some(b)
    }

    /// Returns the transactions of reverted blocks to the mempool.
    fn restore_transactions(&mut self, reverted: &[MicroBlock]) {
        let txs: Vec<Transaction> = reverted
            .iter()
            .rev()
            .flat_map(|b| b.transactions.iter().cloned())
            .collect();
        if txs.is_empty() {
            return;
        }
        let ctx = self.tx_context();
        let refused = self.mempool.reinsert(
            txs,
            &self.chain.ledger,
            ctx,
            &self.cfg.chain,
            self.sigs.as_ref(),
        );
        let epoch = self.chain.epoch();
        for (h, e) in refused {
            // Already in the chain again (the winning fork has it): not a conflict.
            let in_chain = self
                .chain
                .micros
                .iter()
                .any(|b| b.transactions.iter().any(|t| t.hash() == h));
            if !in_chain {
                let status = match e {
                    TxError::MissingInput(_) | TxError::InputClaimed { .. } => {
                        TxStatus::Conflicted {
                            epoch,
                            offset: None,
                        }
                    }
                    other => TxStatus::Rejected {
                        error: other.to_string(),
                        code: other.code().into(),
                    },
                };
                self.set_status(h, status);
            }
        }
        let accepted: Vec<Hash> = reverted
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.hash()))
            .filter(|h| self.mempool.contains(h))
            .collect();
        for h in accepted {
            self.set_status(h, TxStatus::Accepted);
        }
    }

    /// `pop_micro_block`: reverts the last micro block of the epoch; its transactions return
    /// to the mempool. Errors when the epoch has none.
    pub fn pop_micro_block(&mut self, now_ns: u64) -> Result<MicroBlock, &'static str> {
        self.set_now(now_ns);
        let b = self
            .revert_micro()
            .ok_or("nothing to pop: the current epoch has no micro block")?;
        self.sync_store();
        self.restore_transactions(std::slice::from_ref(&b));
        self.start_height();
        self.after_input();
        Ok(b)
    }

    fn produce_micro_block(&mut self) {
        let Some(key) = self.cfg.network_key.clone() else {
            return;
        };
        if self.chain.epoch_full() || self.chain.leader_at(self.view) != *key.public() {
            return;
        }
        let epoch = self.chain.epoch();
        let offset = self.chain.offset();
        let timestamp_ns = self.now_ns.max(self.chain.tip_timestamp_ns());
        // The mempool's transactions are valid and mutually compatible against the ledger;
        // re-check them as a block (a lock may not have expired at the block's time).
        let txs = self.chain.select_transactions(
            self.mempool.take_for_block(self.cfg.chain.block_txs_max),
            timestamp_ns,
            self.sigs.as_ref(),
        );
        let fees: i64 = txs.iter().map(|t| t.fee).sum();
        let proof: Vec<ViewChangeVote> = if self.view > 0 {
            self.votes
                .get(&self.view)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut b = MicroBlock {
            epoch,
            offset,
            view_change: self.view,
            previous: self.chain.tip_hash(),
            leader: *key.public(),
            timestamp_ns,
            random: MicroBlock::next_random(
                &self.chain.tip_random(),
                epoch,
                offset,
                self.view,
                key.public(),
            ),
            transactions: txs,
            reward: self
                .chain
                .reward_output(key.public(), fees, epoch, offset, self.view),
            view_change_proof: proof,
            signature: Signature::from_bytes([0u8; 64]),
            memo: Default::default(),
        };
        b.signature = crate::crypto::sign(key.secret(), b.hash().as_bytes());
        let relay = b.clone();
        match self.accept_micro(b) {
            Ok(()) => self.send(Dest::All, PeerMessage::MicroBlock(Box::new(relay))),
            Err(e) => self.emit(Event::Refused {
                what: "own micro block".into(),
                error: e.to_string(),
            }),
        }
    }

    fn on_micro_block(&mut self, from: NodeId, b: &MicroBlock) {
        let epoch = self.chain.epoch();
        if b.epoch < epoch {
            return; // Final already.
        }
        if b.epoch > epoch || b.offset > self.chain.offset() {
            self.request_sync(from);
            return;
        }
        if b.offset == self.chain.offset() {
            if let Err(e) = self.accept_micro(b.clone()) {
                if let BlockError::WrongPrevious { .. } = e {
                    self.request_sync(from);
                } else {
                    self.emit(Event::Refused {
                        what: format!("micro block {}:{}", b.epoch, b.offset),
                        error: e.to_string(),
                    });
                }
            }
            return;
        }
        // A block for a height we filled: fork resolution.
        let ours = &self.chain.micros[b.offset as usize];
        if ours.hash() == b.hash() || b.view_change < ours.view_change {
            return;
        }
        if b.view_change == ours.view_change {
            // Two blocks of one leader at one height and view (it popped its block and made
            // another): one block cannot tell which fork to keep; the sender's whole epoch can.
            self.request_sync(from);
            return;
        }
        let parent = if b.offset == 0 {
            self.chain.last_macro().hash()
        } else {
            self.chain.micros[b.offset as usize - 1].hash()
        };
        if b.previous != parent {
            self.request_sync(from);
            return;
        }
        self.try_fork(b.offset, std::slice::from_ref(b));
    }

    /// Replaces our micro blocks from `offset` on with `theirs` if they all apply; otherwise
    /// puts ours back.
    fn try_fork(&mut self, offset: u32, theirs: &[MicroBlock]) -> bool {
        let mut reverted = Vec::new();
        while self.chain.offset() > offset {
            reverted.push(self.chain.pop_micro().expect("offset > target"));
        }
        let mut applied = 0;
        let mut ok = true;
        for b in theirs {
            if let Err(e) = self.chain.apply_micro(b.clone(), self.sigs.as_ref()) {
                self.emit(Event::Refused {
                    what: format!("fork block {}:{}", b.epoch, b.offset),
                    error: e.to_string(),
                });
                ok = false;
                break;
            }
            applied += 1;
        }
        if !ok || applied == 0 {
            for _ in 0..applied {
                self.chain.pop_micro();
            }
            for b in reverted.into_iter().rev() {
                self.chain.apply_micro_unchecked(b);
            }
            return false;
        }
        // Take the new blocks off again and replay the switch through the event paths.
        let mut new_blocks = Vec::new();
        for _ in 0..applied {
            new_blocks.push(self.chain.pop_micro().expect("applied above"));
        }
        for b in reverted.iter().rev() {
            self.chain.apply_micro_unchecked(b.clone());
        }
        let mut gone = Vec::new();
        while self.chain.offset() > offset {
            gone.push(self.revert_micro().expect("offset > target"));
        }
        for b in new_blocks.into_iter().rev() {
            if let Err(e) = self.accept_micro(b) {
                self.emit(Event::Refused {
                    what: "fork replay".into(),
                    error: e.to_string(),
                });
                break;
            }
        }
        self.restore_transactions(&gone);
        true
    }

    // ----- view changes --------------------------------------------------------------------

    fn view_change_timeout(&mut self) {
        let Some(key) = self.cfg.network_key.clone() else {
            return;
        };
        if self.chain.epoch_full() {
            return;
        }
        let target = self.view + 1;
        let vote = ViewChangeVote {
            epoch: self.chain.epoch(),
            offset: self.chain.offset(),
            view_change: target,
            last_block: self.chain.tip_hash(),
            validator: *key.public(),
            signature: crate::crypto::sign(
                key.secret(),
                ViewChangeVote::signed_hash(
                    self.chain.epoch(),
                    self.chain.offset(),
                    target,
                    &self.chain.tip_hash(),
                )
                .as_bytes(),
            ),
        };
        self.voted_view = self.voted_view.max(target);
        // Re-arm: if the view does not move, vote again after another timeout.
        self.view_started_ns = self.now_ns.saturating_sub(if self.view == 0 {
            self.cfg.chain.block_interval_ns
        } else {
            0
        });
        self.send(Dest::All, PeerMessage::ViewChange(vote.clone()));
        self.record_vote(vote);
    }

    fn on_view_change_vote(&mut self, from: NodeId, v: &ViewChangeVote) {
        if v.epoch > self.chain.epoch()
            || (v.epoch == self.chain.epoch() && v.offset > self.chain.offset())
        {
            self.request_sync(from);
            return;
        }
        if v.epoch < self.chain.epoch()
            || (v.epoch == self.chain.epoch() && v.offset < self.chain.offset())
        {
            // The voter waits for a block we already have (it missed it, e.g. behind a
            // partition): without help it waits forever once the others moved on to the
            // macro block, so send it what it misses.
            self.on_sync_request(from, v.epoch, v.offset);
            if v.epoch == self.chain.epoch() {
                let ours = match v.offset {
                    0 => self.chain.last_macro().hash(),
                    o => self.chain.micros[o as usize - 1].hash(),
                };
                if ours != v.last_block {
                    // Its tip is not on our chain: it is on a fork, which may win by view
                    // although it is shorter. Ask for its blocks so fork choice can decide.
                    self.request_sync(from);
                }
            }
            return;
        }
        if v.epoch == self.chain.epoch()
            && v.offset == self.chain.offset()
            && v.last_block != self.chain.tip_hash()
        {
            // The voter waits at our height on another fork: compare epochs, so that two
            // equally long forks with equal views still converge (equal_view_fork_wins).
            self.request_sync(from);
            return;
        }
        if v.epoch != self.chain.epoch() || v.offset != self.chain.offset() {
            return;
        }
        if v.view_change <= self.view || !self.chain.election.is_validator(&v.validator) {
            return;
        }
        let msg = ViewChangeVote::signed_hash(v.epoch, v.offset, v.view_change, &v.last_block);
        if !self.sigs.check(&[v.validator], &msg, &v.signature) {
            self.emit(Event::Refused {
                what: "view change vote".into(),
                error: "bad signature".into(),
            });
            return;
        }
        self.record_vote(v.clone());
    }

    fn record_vote(&mut self, v: ViewChangeVote) {
        let view = v.view_change;
        let voter = v.validator;
        self.votes
            .entry(view)
            .or_default()
            .insert(&self.chain.election, voter, v);
        let slots = self.votes[&view].slots();
        if view > self.view && slots >= self.chain.election.supermajority() {
            self.view = view;
            self.view_started_ns = self.now_ns;
            self.emit(Event::ViewChange {
                epoch: self.chain.epoch(),
                offset: self.chain.offset(),
                view_change: view,
            });
            self.notify_status();
        }
    }

    // ----- macro blocks --------------------------------------------------------------------

    fn maybe_propose_macro(&mut self) {
        if !self.chain.epoch_full() || self.macro_state.proposed {
            return;
        }
        let Some(me) = self.network_pkey() else {
            return;
        };
        let round = self.macro_state.round;
        if self
            .chain
            .election
            .macro_proposer(&self.chain.tip_random(), round)
            != me
        {
            return;
        }
        self.macro_state.proposed = true;
        let block = match self.macro_state.locked {
            Some((h, _)) => match self.macro_state.proposals.get(&h) {
                Some(b) => b.clone(),
                None => return,
            },
            None => self.chain.build_macro(me, round, self.now_ns),
        };
        self.send(
            Dest::All,
            PeerMessage::MacroPropose {
                round,
                block: Box::new(block.clone()),
            },
        );
        self.on_macro_proposal(self.cfg.id, round, &block);
    }

    fn on_macro_proposal(&mut self, from: NodeId, round: u32, b: &MacroBlock) {
        if b.epoch != self.chain.epoch() {
            if b.epoch > self.chain.epoch() {
                self.request_sync(from);
            }
            return;
        }
        if self
            .chain
            .election
            .macro_proposer(&self.chain.tip_random(), round)
            != b.proposer
            && b.view_change == round
        {
            // A proposal by someone who does not lead this round.
            if self.chain.epoch_full() {
                self.emit(Event::Refused {
                    what: "macro proposal".into(),
                    error: "not the round's proposer".into(),
                });
            }
            return;
        }
        if let Err(e) = self.chain.validate_macro_proposal(b) {
            if self.chain.epoch_full() || b.previous != self.chain.tip_hash() {
                self.request_sync(from);
            }
            self.emit(Event::Refused {
                what: format!("macro proposal round {round}"),
                error: e.to_string(),
            });
            return;
        }
        let h = b.hash();
        self.macro_state.proposals.insert(h, b.clone());
        if round > self.macro_state.round && self.chain.epoch_full() {
            // A valid proposal for a later round: the others moved on while this node was
            // down or cut off. Round timers alone never realign (each round waits longer),
            // so join their round.
            self.macro_state.round = round;
            self.macro_state.round_started_ns = self.now_ns;
            self.macro_state.proposed = false;
        }
        if round != self.macro_state.round || self.macro_state.prevoted.contains(&round) {
            self.check_macro_votes(h);
            return;
        }
        if let Some((locked, _)) = self.macro_state.locked {
            if locked != h {
                return;
            }
        }
        if !self.is_validator() {
            return;
        }
        self.macro_state.prevoted.insert(round);
        let epoch = self.chain.epoch();
        if let Some((validator, signature)) = self.sign(&prevote_hash(epoch, round, &h)) {
            let vote = MacroVote {
                epoch,
                round,
                block_hash: h,
                validator,
                signature,
            };
            self.send(Dest::All, PeerMessage::MacroPrevote(vote.clone()));
            self.record_prevote(vote);
        }
    }

    fn on_prevote(&mut self, from: NodeId, v: &MacroVote) {
        if v.epoch != self.chain.epoch() {
            if v.epoch > self.chain.epoch() {
                self.request_sync(from);
            }
            return;
        }
        if !self.chain.election.is_validator(&v.validator) {
            return;
        }
        if !self.sigs.check(
            &[v.validator],
            &prevote_hash(v.epoch, v.round, &v.block_hash),
            &v.signature,
        ) {
            return;
        }
        self.record_prevote(v.clone());
    }

    fn record_prevote(&mut self, v: MacroVote) {
        let key = (v.round, v.block_hash);
        let voter = v.validator;
        self.macro_state
            .prevotes
            .entry(key)
            .or_default()
            .insert(&self.chain.election, voter, v);
        self.catch_up_macro_round();
        self.check_macro_votes(key.1);
    }

    /// Round catch-up, as in Tendermint: prevotes for a later round from validators holding
    /// more than a third of the slots mean an honest validator is there, so this node joins
    /// that round at once. Without it, nodes whose epochs filled at different times (one
    /// popped a block, one was cut off) sat in different rounds, and with round timeouts
    /// growing alike the gap in time stayed: the epoch's macro block waited minutes.
    /// Called on every prevote and when the epoch fills up (prevotes may have come first).
    fn catch_up_macro_round(&mut self) {
        if !self.chain.epoch_full() {
            return;
        }
        let mut by_round: BTreeMap<u32, BTreeSet<PublicKey>> = BTreeMap::new();
        for ((round, _), by) in self
            .macro_state
            .prevotes
            .range((self.macro_state.round + 1, Hash::default())..)
        {
            by_round
                .entry(*round)
                .or_default()
                .extend(by.keys().copied());
        }
        let target = by_round.iter().rev().find_map(|(round, voters)| {
            let slots = self.chain.election.slots_of_voters(voters.iter());
            (slots * 3 > self.chain.election.slots_count()).then_some(*round)
        });
        if let Some(round) = target {
            self.enter_macro_round(round);
        }
    }

    fn on_precommit(&mut self, from: NodeId, v: &MacroVote) {
        if v.epoch != self.chain.epoch() {
            if v.epoch > self.chain.epoch() {
                self.request_sync(from);
            }
            return;
        }
        if !self.chain.election.is_validator(&v.validator) {
            return;
        }
        if !self.sigs.check(
            &[v.validator],
            &MacroBlock::precommit_hash(v.epoch, &v.block_hash),
            &v.signature,
        ) {
            return;
        }
        self.macro_state
            .precommits
            .entry(v.block_hash)
            .or_default()
            .insert(&self.chain.election, v.validator, v.signature);
        self.check_macro_votes(v.block_hash);
    }

    /// Precommits after > 2/3 prevotes; commits after > 2/3 precommits.
    fn check_macro_votes(&mut self, h: Hash) {
        if !self.chain.epoch_full() {
            return;
        }
        let needed = self.chain.election.supermajority();
        // Polka in some round >= our lock round for this block: (re)lock and precommit.
        let rounds: Vec<u32> = self
            .macro_state
            .prevotes
            .keys()
            .filter(|(_, bh)| *bh == h)
            .map(|(r, _)| *r)
            .collect();
        for round in rounds {
            let slots = self.macro_state.prevotes[&(round, h)].slots();
            if slots < needed || !self.macro_state.proposals.contains_key(&h) {
                continue;
            }
            let lock_round = self.macro_state.locked.map_or(0, |(_, r)| r);
            if self.macro_state.locked.is_none() || round >= lock_round {
                self.macro_state.locked = Some((h, round));
            }
            if round == self.macro_state.round
                && !self.macro_state.precommitted.contains(&round)
                && self.is_validator()
            {
                self.macro_state.precommitted.insert(round);
                let epoch = self.chain.epoch();
                if let Some((validator, signature)) =
                    self.sign(&MacroBlock::precommit_hash(epoch, &h))
                {
                    let vote = MacroVote {
                        epoch,
                        round,
                        block_hash: h,
                        validator,
                        signature,
                    };
                    self.send(Dest::All, PeerMessage::MacroPrecommit(vote));
                    self.macro_state.precommits.entry(h).or_default().insert(
                        &self.chain.election,
                        validator,
                        signature,
                    );
                }
            }
        }
        let Some(pcs) = self.macro_state.precommits.get(&h) else {
            return;
        };
        if pcs.slots() < needed {
            return;
        }
        let Some(block) = self.macro_state.proposals.get(&h) else {
            return;
        };
        let mut block = block.clone();
        block.multisig = pcs.iter().map(|(k, s)| (*k, *s)).collect();
        self.commit_macro(block.clone());
        self.send(Dest::All, PeerMessage::MacroCommitted(Box::new(block)));
    }

    fn on_macro_committed(&mut self, from: NodeId, b: &MacroBlock) {
        if b.epoch < self.chain.epoch() {
            return;
        }
        if b.epoch > self.chain.epoch() {
            self.request_sync(from);
            return;
        }
        let before = self.chain.epoch();
        self.commit_macro(b.clone());
        if self.chain.epoch() > before {
            // Relay once, so nodes that missed the votes still learn of it.
            self.send(Dest::All, PeerMessage::MacroCommitted(Box::new(b.clone())));
        }
    }

    fn commit_macro(&mut self, b: MacroBlock) {
        let epoch = b.epoch;
        let micros_before: Vec<MicroBlock> = self.chain.micros.clone();
        let hash = b.hash();
        let round = b.view_change;
        let encoded = postcard::to_stdvec(&b).expect("blocks always serialise");
        match self.chain.apply_macro(b, self.sigs.as_ref()) {
            Ok(reverted) => {
                // Without micro blocks to finalise, the chain applied the block's net effect.
                let net_applied = !reverted.is_empty() || micros_before.is_empty();
                self.wallet_hook(|w, ctx| w.on_macro_committed(ctx, &reverted, net_applied));
                for m in &reverted {
                    self.store.delete(&key_with(STORE_MICRO, m.epoch, m.offset));
                    self.emit(Event::MicroBlockReverted {
                        epoch: m.epoch,
                        offset: m.offset,
                        view_change: m.view_change,
                        hash: m.hash(),
                    });
                    if !self.chain_subs.is_empty() {
                        self.notify_chain(Some(ServerKind::MicroBlockReverted(
                            crate::node_api::micro_block_body(m),
                        )));
                    }
                }
                for m in &micros_before {
                    self.store.delete(&key_with(STORE_MICRO, m.epoch, m.offset));
                }
                self.store.put(&key_with(STORE_MACRO, epoch, 0), &encoded);
                self.sync_store();
                let committed = &self.chain.last_macro().transactions.clone();
                self.emit(Event::MacroBlockCommitted {
                    epoch,
                    round,
                    hash,
                    transactions: committed.len(),
                });
                if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
                    let body = crate::node_api::macro_block_body(
                        self.chain.last_macro(),
                        self.cfg.chain.slots_count,
                    );
                    self.notify_chain(Some(ServerKind::MacroBlockCommitted(body)));
                }
                for h in committed {
                    self.mempool.remove(h);
                    self.set_status(*h, TxStatus::Committed { epoch });
                }
                // Transactions of reverted micro blocks that the macro block does not hold
                // go back to the mempool (or are conflicted).
                let final_set: BTreeSet<Hash> = committed.iter().copied().collect();
                let lost: Vec<MicroBlock> = reverted
                    .into_iter()
                    .map(|mut m| {
                        m.transactions.retain(|t| !final_set.contains(&t.hash()));
                        m.clear_hash_memo();
                        m
                    })
                    .collect();
                self.start_epoch();
                self.start_height();
                let ctx = self.tx_context();
                let dropped = self.mempool.revalidate(
                    &self.chain.ledger,
                    ctx,
                    &self.cfg.chain,
                    self.sigs.as_ref(),
                );
                for (h, e) in dropped {
                    let status = match e {
                        TxError::MissingInput(_) | TxError::InputClaimed { .. } => {
                            TxStatus::Conflicted {
                                epoch,
                                offset: None,
                            }
                        }
                        other => TxStatus::Rejected {
                            error: other.to_string(),
                            code: other.code().into(),
                        },
                    };
                    self.set_status(h, status);
                }
                self.restore_transactions(&lost);
            }
            Err(e) => self.emit(Event::Refused {
                what: format!("macro block {epoch}"),
                error: e.to_string(),
            }),
        }
    }

    fn macro_round_timeout(&mut self) {
        if !self.chain.epoch_full() {
            return;
        }
        self.enter_macro_round(self.macro_state.round + 1);
    }

    /// Moves the macro-block BFT to `round`: propose if this node leads it, take up the
    /// proposals stored for it.
    fn enter_macro_round(&mut self, round: u32) {
        self.macro_state.round = round;
        self.macro_state.round_started_ns = self.now_ns;
        self.macro_state.proposed = false;
        self.maybe_propose_macro();
        // Re-offer our lock's block to whoever proposes; re-check stored proposals of this round.
        let pending: Vec<(Hash, MacroBlock)> = self
            .macro_state
            .proposals
            .iter()
            .map(|(h, b)| (*h, b.clone()))
            .collect();
        for (_, b) in pending {
            if self
                .chain
                .election
                .macro_proposer(&self.chain.tip_random(), self.macro_state.round)
                == b.proposer
            {
                let round = self.macro_state.round;
                self.on_macro_proposal(self.cfg.id, round, &b);
            }
        }
    }

    // ----- sync ----------------------------------------------------------------------------

    fn on_sync_request(&mut self, from: NodeId, epoch: u64, _offset: u32) {
        if epoch > self.chain.epoch() {
            return;
        }
        let macros: Vec<MacroBlock> = self
            .chain
            .macros
            .iter()
            .skip(epoch as usize)
            .take(SYNC_MACROS_MAX)
            .cloned()
            .collect();
        let micros = if macros.len() < SYNC_MACROS_MAX {
            self.chain.micros.clone()
        } else {
            Vec::new()
        };
        self.send(
            Dest::One(from),
            PeerMessage::SyncResponse { macros, micros },
        );
    }

    fn on_sync_response(&mut self, from: NodeId, macros: &[MacroBlock], micros: &[MicroBlock]) {
        let mut progressed = false;
        for b in macros {
            if b.epoch == self.chain.epoch() {
                let before = self.chain.epoch();
                self.commit_macro(b.clone());
                if self.chain.epoch() == before {
                    return;
                }
                progressed = true;
            }
        }
        let Some(first) = micros.first() else { return };
        if first.epoch != self.chain.epoch() {
            return;
        }
        // Find where our micro blocks and theirs part.
        let mut i = 0usize;
        while i < micros.len()
            && i < self.chain.micros.len()
            && micros[i].hash() == self.chain.micros[i].hash()
        {
            i += 1;
        }
        if i >= micros.len() {
            return;
        }
        let better = i >= self.chain.micros.len()
            || micros[i].view_change > self.chain.micros[i].view_change
            || (micros[i].view_change == self.chain.micros[i].view_change
                && equal_view_fork_wins(micros, &self.chain.micros, i));
        if better && self.try_fork(i as u32, &micros[i..]) {
            progressed = true;
        }
        if progressed && micros.len() as u32 == self.cfg.chain.micro_blocks_per_epoch {
            // The responder may be ahead in the BFT; ask again later through its messages.
            let _ = from;
        }
    }

    // ----- restaking -----------------------------------------------------------------------

    /// Restakes this validator's expired stakes: automatically once per epoch at the node's
    /// random offset (when enabled and synchronized), or on demand (`restake_all`, `force`).
    /// Returns the transaction hashes submitted.
    pub fn restake(&mut self, now_ns: u64, force: bool) -> Vec<Hash> {
        self.set_now(now_ns);
        let hashes = self.restake_inner(force);
        self.after_input();
        hashes
    }

    fn maybe_restake(&mut self) {
        if self.restaking_enabled
            && self.synchronized
            && self.restaked_epoch != Some(self.chain.epoch())
            && self.chain.offset() >= self.restake_offset
            && !self.chain.epoch_full()
        {
            self.restaked_epoch = Some(self.chain.epoch());
            self.restake_inner(false);
        }
    }

    fn restake_inner(&mut self, _force: bool) -> Vec<Hash> {
        let Some(key) = self.cfg.network_key.clone() else {
            return Vec::new();
        };
        let me = *key.public();
        let epoch = self.chain.epoch();
        // Expired stakes of this validator not already being spent, grouped by owner.
        let mut by_owner: BTreeMap<PublicKey, Vec<(Hash, i64)>> = BTreeMap::new();
        for (h, u) in self.chain.ledger.iter() {
            if let TxOutput::Stake(s) = &u.output {
                if s.validator == me
                    && s.active_until_epoch <= epoch
                    && !self.mempool.claimed().contains_key(h)
                {
                    by_owner.entry(s.owner).or_default().push((*h, s.amount));
                }
            }
        }
        let mut hashes = Vec::new();
        for (owner, stakes) in by_owner {
            for chunk in stakes.chunks(self.cfg.chain.tx_inputs_max) {
                let total: i64 = chunk.iter().map(|(_, a)| a).sum();
                let fee = self.cfg.chain.stake_fee_min;
                if total - fee <= fee {
                    continue;
                }
                let output = TxOutput::Stake(StakeOutput {
                    owner,
                    validator: me,
                    amount: total - fee,
                    active_until_epoch: epoch + self.cfg.chain.stake_epochs,
                    nonce: self.nonce_rng.bytes16(),
                });
                let inputs: Vec<Hash> = chunk.iter().map(|(h, _)| *h).collect();
                let body = Transaction::body_hash(&inputs, std::slice::from_ref(&output), fee);
                // The signature verifies against the validator's key once per input.
                let signer = SecretKey::sum(std::iter::repeat_n(key.secret(), inputs.len()))
                    .expect("n * key is zero only for n a multiple of the group order");
                let tx = Transaction::new(
                    inputs.clone(),
                    vec![output],
                    fee,
                    crate::crypto::sign(&signer, body.as_bytes()),
                );
                let now = self.now_ns;
                match self.submit_transaction(now, tx) {
                    Ok(h) => {
                        self.emit(Event::Restake {
                            tx_hash: h,
                            stakes: inputs,
                            amount: total - fee,
                        });
                        hashes.push(h);
                    }
                    Err(e) => self.emit(Event::Refused {
                        what: "restake".into(),
                        error: e.to_string(),
                    }),
                }
            }
        }
        hashes
    }
}
