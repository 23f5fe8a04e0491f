//! What the server sends: responses, notifications and errors ([`ServerKind`] and the bodies
//! of its variants).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::envelope::message_kinds;
use super::error::ErrorCode;
use super::timestamp::Timestamp;

message_kinds! {
    /// Every message the server sends, one variant per `type`: responses (which copy the
    /// request's `id`), notifications (which never carry one) and `error`.
    pub enum ServerKind / ServerTag {
        /// Response to `accounts_info`.
        AccountsInfo(AccountsInfo) = "accounts_info",
        /// Response to `create_account` and `recover_account`; the new id is the envelope's
        /// `account_id`.
        AccountCreated = "account_created",
        /// Response to `delete_account`.
        AccountDeleted = "account_deleted",
        /// Response to `recovery_info`.
        Recovery(Recovery) = "recovery",
        /// Response to `seal`.
        Sealed = "sealed",
        /// Response to `unseal`.
        Unsealed = "unsealed",
        /// Response to `change_password`.
        PasswordChanged = "password_changed",
        /// Response to `account_info`.
        AccountInfo(AccountKeys) = "account_info",
        /// Response to `balance_info`.
        BalanceInfo(Balance) = "balance_info",
        /// Notification: the account's balance changed.
        BalanceChanged(BalanceChanged) = "balance_changed",
        /// Response to `unspent_info`.
        UnspentInfo(UnspentInfo) = "unspent_info",
        /// Response to `create_public_address`.
        PublicAddressCreated(PublicAddressCreated) = "public_address_created",
        /// Response to `public_addresses_info`.
        PublicAddressesInfo(PublicAddressesInfo) = "public_addresses_info",
        /// Response to every payment, cloak, stake and unstake request.
        TransactionCreated(TransactionCreated) = "transaction_created",
        /// Response to `history_info`.
        HistoryInfo(HistoryInfo) = "history_info",
        /// Response to `validate_certificate` when the certificate holds.
        CertificateValid(CertificateValid) = "certificate_valid",
        /// Response to `status_info`.
        StatusInfo(NodeStatus) = "status_info",
        /// Response to `subscribe_status`.
        SubscribedStatus(NodeStatus) = "subscribed_status",
        /// Notification after `subscribe_status`.
        StatusChanged(NodeStatus) = "status_changed",
        /// Response to `macro_block_info`.
        MacroBlockInfo(MacroBlock) = "macro_block_info",
        /// Notification after `subscribe_chain`: a macro block is final.
        MacroBlockCommitted(MacroBlock) = "macro_block_committed",
        /// Response to `micro_block_info`.
        MicroBlockInfo(MicroBlock) = "micro_block_info",
        /// Notification after `subscribe_chain`: a micro block was added.
        MicroBlockPrepared(MicroBlock) = "micro_block_prepared",
        /// Notification after `subscribe_chain`: a micro block was reverted.
        MicroBlockReverted(MicroBlock) = "micro_block_reverted",
        /// Response to `subscribe_chain`, before the replay.
        SubscribedChain(SubscribedChain) = "subscribed_chain",
        /// Response to `pop_micro_block`.
        MicroBlockPopped = "micro_block_popped",
        /// Response to `escrow_info`.
        EscrowInfo(EscrowInfo) = "escrow_info",
        /// Response to `election_info`.
        ElectionInfo(ElectionInfo) = "election_info",
        /// Response to `enable_restaking`.
        RestakingEnabled = "restaking_enabled",
        /// Response to `disable_restaking`.
        RestakingDisabled = "restaking_disabled",
        /// Response to `chain_name`.
        ChainName(ChainName) = "chain_name",
        /// Notification: a transaction of the account changed state.
        TransactionStatus(TransactionStatus) = "transaction_status",
        /// Notification: progress of the account's Snowball round.
        SnowballStatus(SnowballStatus) = "snowball_status",
        /// Notification: the account received a payment output.
        Received(PaymentUtxo) = "received",
        /// Notification: a payment output of the account was spent.
        Spent(PaymentUtxo) = "spent",
        /// Notification: the account received a public payment output.
        ReceivedPublic(PublicPaymentUtxo) = "received_public",
        /// Notification: a public payment output of the account was spent.
        SpentPublic(PublicPaymentUtxo) = "spent_public",
        /// Notification: a stake of the account entered the escrow.
        Staked(StakeUtxo) = "staked",
        /// Notification: a stake of the account left the escrow.
        Unstaked(StakeUtxo) = "unstaked",
        /// Notification: the server dropped notifications because this client read too
        /// slowly; it should re-query the state it tracks.
        Lagged(Lagged) = "lagged",
        /// Any failure; carries the request's `id` when there was one.
        Error(ErrorBody) = "error",
    }
}

/// Body of `accounts_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsInfo {
    /// The accounts by `account_id` (ordered, so output is deterministic).
    pub accounts: BTreeMap<String, AccountKeys>,
}

/// An account's public keys: body of `account_info` and entries of `accounts_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKeys {
    /// The account's public key, bech32: where it receives payments.
    pub account_pkey: String,
    /// The node's network (BLS) key when the account validates; absent in the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_pkey: Option<String>,
}

/// Body of `recovery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// The 24-word recovery phrase.
    pub recovery: String,
    /// The highest virtual public address id, to give back to `recover_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_public_address_id: Option<u32>,
}

/// One kind of output's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceAmounts {
    /// µSTG in total, including in-flight transactions and locked outputs.
    pub current: i64,
    /// µSTG spendable now.
    pub available: i64,
}

/// Body of `balance_info` (and of the full form of `balance_changed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Balance of cloaked payment outputs.
    pub payment: BalanceAmounts,
    /// Balance of public payment outputs.
    pub public_payment: BalanceAmounts,
    /// Balance of stakes.
    pub stake: BalanceAmounts,
    /// µSTG in total over all kinds.
    pub current: i64,
    /// µSTG spendable now over all kinds.
    pub available: i64,
    /// Whether this state is final (in a macro block). Absent in the seed's first sample,
    /// so optional; this node always sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_final: Option<bool>,
}

/// Body of `balance_changed`, which the seed shows in two shapes: the full [`Balance`] and a
/// bare `{"balance": N}`. Both are accepted and each is written back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceChanged {
    /// The same body as `balance_info` (what this node sends).
    Full(Balance),
    /// Only the total, as in the seed's "Notifications" section.
    Total(i64),
}

/// Every field either shape of `balance_changed` may have; the shape is decided after
/// reading, so there is no buffering.
#[derive(Deserialize)]
struct BalanceChangedWire {
    /// Full shape.
    payment: Option<BalanceAmounts>,
    /// Full shape.
    public_payment: Option<BalanceAmounts>,
    /// Full shape.
    stake: Option<BalanceAmounts>,
    /// Full shape.
    current: Option<i64>,
    /// Full shape.
    available: Option<i64>,
    /// Full shape, optional.
    is_final: Option<bool>,
    /// Bare shape.
    balance: Option<i64>,
}

/// The bare shape of `balance_changed`, for output.
#[derive(Serialize)]
struct BalanceTotal {
    /// µSTG in total.
    balance: i64,
}

impl Serialize for BalanceChanged {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            BalanceChanged::Full(balance) => balance.serialize(serializer),
            BalanceChanged::Total(balance) => {
                BalanceTotal { balance: *balance }.serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for BalanceChanged {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match BalanceChangedWire::deserialize(deserializer)? {
            BalanceChangedWire {
                payment: Some(payment),
                public_payment: Some(public_payment),
                stake: Some(stake),
                current: Some(current),
                available: Some(available),
                is_final,
                balance: _,
            } => Ok(BalanceChanged::Full(Balance {
                payment,
                public_payment,
                stake,
                current,
                available,
                is_final,
            })),
            BalanceChangedWire {
                payment: None,
                public_payment: None,
                stake: None,
                current: None,
                available: None,
                is_final: None,
                balance: Some(balance),
            } => Ok(BalanceChanged::Total(balance)),
            partial => {
                // Neither shape is complete: name the first field the full shape lacks.
                let missing = [
                    ("payment", partial.payment.is_none()),
                    ("public_payment", partial.public_payment.is_none()),
                    ("stake", partial.stake.is_none()),
                    ("current", partial.current.is_none()),
                    ("available", partial.available.is_none()),
                ]
                .into_iter()
                .find_map(|(name, missing)| missing.then_some(name))
                .unwrap_or("balance");
                Err(de::Error::missing_field(missing))
            }
        }
    }
}

/// Body of `unspent_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnspentInfo {
    /// Unspent public payment outputs.
    pub public_payments: Vec<PublicPaymentUtxo>,
    /// Unspent cloaked payment outputs.
    pub payments: Vec<PaymentUtxo>,
    /// Stakes.
    pub stakes: Vec<StakeUtxo>,
}

/// A cloaked payment output the account owns: entries of `unspent_info` and the body of
/// `received` / `spent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentUtxo {
    /// The output's hash.
    pub utxo: String,
    /// µSTG it holds.
    pub amount: i64,
    /// The sender's note.
    pub comment: String,
    /// Unspendable until then; `null` (kept on output) for no lock.
    pub locked_timestamp: Option<Timestamp>,
    /// The address it was paid to.
    pub recipient: String,
    /// The encryption key, when kept for a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rvalue: Option<String>,
    /// Whether it is change of the account's own payment.
    pub is_change: bool,
}

/// A public payment output the account owns: entries of `unspent_info` and the body of
/// `received_public` / `spent_public`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPaymentUtxo {
    /// The output's hash.
    pub utxo: String,
    /// µSTG it holds.
    pub amount: i64,
    /// Unspendable until then; `null` (kept on output) for no lock.
    pub locked_timestamp: Option<Timestamp>,
}

/// A stake the account owns: entries of `unspent_info` and the body of `staked` /
/// `unstaked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeUtxo {
    /// The output's hash.
    pub utxo: String,
    /// µSTG staked.
    pub amount: i64,
    /// The last epoch in which it counts for the election.
    pub active_until_epoch: u64,
    /// Whether it counts now.
    pub is_active: bool,
}

/// Body of `public_address_created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAddressCreated {
    /// The new address, bech32.
    pub public_address: String,
    /// Its derivation number.
    pub public_address_id: u32,
}

/// Body of `public_addresses_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAddressesInfo {
    /// The addresses by derivation number (a string key on the wire, as JSON requires).
    pub public_addresses: BTreeMap<u32, PublicAddress>,
}

/// One virtual public address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAddress {
    /// The address, bech32.
    pub address: String,
}

/// What kind of output an [`OutputInfo`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputType {
    /// A cloaked payment.
    Payment,
    /// A public payment.
    PublicPayment,
    /// A stake.
    Stake,
}

/// An output created by a transaction: in `transaction_created` and the history log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputInfo {
    /// Which kind of output.
    pub output_type: OutputType,
    /// The output's hash.
    pub utxo: String,
    /// µSTG it holds.
    pub amount: i64,
    /// The note attached (empty for stakes).
    #[serde(default)]
    pub comment: String,
    /// Unspendable until then; `null` (kept on output) for no lock.
    pub locked_timestamp: Option<Timestamp>,
    /// The address it pays.
    pub recipient: String,
    /// The encryption key, when the payment was made `with_certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rvalue: Option<String>,
    /// Whether it is change back to the sender.
    #[serde(default)]
    pub is_change: bool,
}

/// Where a transaction is in its life (PROTOCOL.md, "Wallet notifications").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Built and sent to the node. Alias `create` (the seed's prose says so once).
    #[serde(alias = "create")]
    Created,
    /// In the local mempool.
    Accepted,
    /// Refused by the mempool (see `error`).
    Rejected,
    /// In a micro block (not final).
    Prepared,
    /// Its micro block was reverted; back in the mempool.
    Rollback,
    /// In a macro block: final.
    Committed,
    /// Lost to a conflicting transaction.
    Conflicted,
}

/// Body of `transaction_created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionCreated {
    /// The transaction's hash, to match later `transaction_status` notifications.
    pub tx_hash: String,
    /// µSTG of fee in total.
    pub fee: i64,
    /// Outputs created.
    pub outputs: Vec<OutputInfo>,
    /// Hashes of the outputs spent.
    pub inputs: Vec<String>,
    /// Always `created` at this point.
    pub status: TxStatus,
}

/// Body of `history_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryInfo {
    /// Entries, oldest first.
    pub log: Vec<LogEntry>,
}

/// One history entry, tagged by `type` inside the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogEntry {
    /// An output the account received.
    Incoming(IncomingEntry),
    /// A transaction the account sent.
    Outgoing(OutgoingEntry),
}

/// An incoming history entry: when, plus the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingEntry {
    /// When the output arrived.
    pub timestamp: Timestamp,
    /// The output, its fields inline.
    #[serde(flatten)]
    pub output: OutputInfo,
}

/// An outgoing history entry: a transaction and its last known status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingEntry {
    /// When it was created.
    pub timestamp: Timestamp,
    /// The transaction's hash.
    pub tx_hash: String,
    /// µSTG of fee in total.
    pub fee: i64,
    /// Outputs created.
    pub outputs: Vec<OutputInfo>,
    /// Hashes of the outputs spent.
    pub inputs: Vec<String>,
    /// Its last known status.
    pub status: TxStatus,
    /// The epoch, once in a block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The micro block offset, while in a micro block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `certificate_valid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateValid {
    /// The epoch of the block holding the output.
    pub epoch: u64,
    /// That block's hash.
    pub block_hash: String,
    /// Whether that block is final.
    pub is_final: bool,
    /// That block's timestamp.
    pub timestamp: Timestamp,
    /// The amount the certificate proves, µSTG.
    pub amount: i64,
}

/// Body of `status_info`, `subscribed_status` and `status_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Whether the node has caught up with the network.
    pub is_synchronized: bool,
    /// The current epoch.
    pub epoch: u64,
    /// The next micro block's offset.
    pub offset: u32,
    /// The current view change.
    pub view_change: u32,
    /// Hash of the last block.
    pub last_block_hash: String,
    /// Hash of the last macro block.
    pub last_macro_block_hash: String,
    /// Timestamp of the last macro block.
    pub last_macro_block_timestamp: Timestamp,
    /// The node's clock.
    pub local_timestamp: Timestamp,
}

/// A validator and its slots in a macro block's election result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockValidator {
    /// The validator's network key.
    pub network_pkey: String,
    /// Its slots out of the epoch's total.
    pub slots: u64,
}

/// Body of `macro_block_info` and `macro_block_committed`. The seed shows only a few
/// fields, so all others are optional and skipped when `None` (this node fills them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroBlock {
    /// The block's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<String>,
    /// Block format version.
    pub version: u64,
    /// The previous block's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The epoch it ends.
    pub epoch: u64,
    /// The view change it was agreed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_change: Option<u32>,
    /// The proposing leader's network key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkey: Option<String>,
    /// Its timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Outputs spent in the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
    /// Outputs created in the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
    /// The next epoch's validators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<Vec<BlockValidator>>,
}

/// A transaction as a micro block lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSummary {
    /// The transaction's hash.
    pub tx_hash: String,
    /// Hashes of the outputs spent.
    pub inputs: Vec<String>,
    /// Hashes of the outputs created.
    pub outputs: Vec<String>,
    /// µSTG of fee.
    pub fee: i64,
}

/// Body of `micro_block_info`, `micro_block_prepared` and `micro_block_reverted`. As for
/// [`MacroBlock`], fields the seed omits are optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroBlock {
    /// The block's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<String>,
    /// Block format version.
    pub version: u64,
    /// The previous block's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The epoch.
    pub epoch: u64,
    /// Its offset inside the epoch.
    pub offset: u32,
    /// The view change it was produced at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_change: Option<u32>,
    /// The leader's network key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkey: Option<String>,
    /// Its timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Its transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<TxSummary>>,
}

/// Body of `subscribed_chain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedChain {
    /// The node's epoch when the subscription started.
    pub current_epoch: u64,
    /// The node's offset when the subscription started.
    pub current_offset: u32,
}

/// Body of `escrow_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowInfo {
    /// Stakes grouped by validator.
    pub validators: Vec<EscrowValidator>,
}

/// One validator's stakes in the escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowValidator {
    /// The validator's network key.
    pub network_pkey: String,
    /// µSTG of active stakes.
    pub active_stake: i64,
    /// µSTG of expired stakes.
    pub expired_stake: i64,
    /// The individual stakes.
    pub stakes: Vec<EscrowStake>,
}

/// One stake in the escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowStake {
    /// The stake output's hash.
    pub utxo: String,
    /// The owning account's key.
    pub account_pkey: String,
    /// The last epoch in which it counts.
    pub active_until_epoch: u64,
    /// Whether it counts now.
    pub is_active: bool,
    /// µSTG staked.
    pub amount: i64,
}

/// Body of `election_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionInfo {
    /// The current epoch.
    pub epoch: u64,
    /// The current offset.
    pub offset: u32,
    /// The current view change.
    pub view_change: u32,
    /// Slots in the election.
    pub slots_count: u64,
    /// The leader for this view change.
    pub current_leader: String,
    /// The leader for the next view change, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_leader: Option<String>,
}

/// Body of `chain_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainName {
    /// The chain's name (e.g. `dev`).
    pub name: String,
}

/// Body of `transaction_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatus {
    /// The transaction's hash, as in `transaction_created`.
    pub tx_hash: String,
    /// Its new status.
    pub status: TxStatus,
    /// The epoch, for `prepared`, `rollback`, `committed`, `conflicted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The micro block offset, for `prepared`, `rollback` and sometimes `conflicted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Why, for `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A phase of a Snowball round (PROTOCOL.md, "Snowball").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnowballState {
    /// Waiting for the facilitator to gather enough participants.
    PoolWait,
    /// Exchanging session keys.
    SharedKeying,
    /// Committing to cloaked outputs.
    Commitment,
    /// Revealing cloaked values.
    CloakedVals,
    /// Finding a cheater (only after a failed check).
    SecretKeying,
    /// Signing the joint transaction.
    Signature,
    /// The round produced a transaction.
    Succeeded,
    /// The round failed (see `error`).
    Failed,
}

/// Body of `snowball_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnowballStatus {
    /// The phase just entered.
    pub state: SnowballState,
    /// Why, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The round (this project's addition): the same number for every member of one round,
    /// from `shared_keying` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    /// Members of the round's current attempt (this project's addition), from
    /// `shared_keying` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<u32>,
}

/// Body of `lagged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lagged {
    /// How many notifications were dropped.
    pub dropped: u64,
}

/// Body of `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Human-readable description.
    pub error: String,
    /// Machine-readable reason. Always set by this node; optional because the seed's (and
    /// the original node's) errors have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}
