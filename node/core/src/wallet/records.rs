//! What the wallet keeps in the node's store, and under which keys.
//!
//! Layout (every number big-endian, so keys sort in numeric order):
//! - `wallet/meta`: [`Meta`], the counters that must survive a restart.
//! - `wallet/account/<id u32>`: [`AccountRecord`], the public key, the sealed secret key and
//!   the public addresses' keys.
//! - `wallet/history/<id u32><timestamp u64><seq u64>`: [`HistoryRecord`], one per incoming
//!   output and per outgoing transaction, ordered by time.
//! - `wallet/trash/<n u64>/...`: deleted accounts, moved aside with their history (the
//!   original node moved a deleted account's files aside too: a deleted key may hold money).
//!
//! Records are encoded with postcard, like the chain's blocks.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chain::tx::{Output as TxOutput, Transaction, TxStatus};
use crate::crypto::{EncryptedSecret, Hash, PublicKey, Rvalue};

/// Key of [`Meta`].
pub(crate) const META: &[u8] = b"wallet/meta";
/// Prefix of account records.
pub(crate) const ACCOUNT: &[u8] = b"wallet/account/";
/// Prefix of history records.
pub(crate) const HISTORY: &[u8] = b"wallet/history/";
/// Prefix of deleted accounts.
pub(crate) const TRASH: &[u8] = b"wallet/trash/";

/// Where a history entry sits: (timestamp ns, sequence number). The sequence makes entries
/// with the same timestamp distinct and keeps their order of arrival.
pub(crate) type HistoryAt = (u64, u64);

/// Counters that must survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// Draws taken from the wallet's random stream so far: a restarted node continues the
    /// stream instead of drawing the same keys and r-values again.
    pub rng_draws: u64,
    /// Next history sequence number.
    pub history_seq: u64,
    /// Next trash slot for a deleted account.
    pub trash_seq: u64,
}

/// An account as stored: nothing here is secret but the sealed key, which is encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    /// The account's public key (its address).
    pub pkey: PublicKey,
    /// The secret key sealed under the account's password.
    pub sealed: EncryptedSecret,
    /// Public keys of the virtual public addresses, `public_address_id` = index + 1. Kept in
    /// clear so that payments to them are recognised while the account is sealed.
    pub public_addresses: Vec<PublicKey>,
}

/// What the wallet adds to an output it created, beyond what the output says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutputMeta {
    /// The comment (public payments carry none on chain, so it is kept here).
    pub comment: String,
    /// Whether the output is change back to the account.
    pub is_change: bool,
    /// The r-value kept for a payment certificate.
    pub rvalue: Option<Rvalue>,
}

/// A transaction the account sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutgoingRecord {
    /// The signed transaction (kept whole, so it can be resubmitted after a restart).
    pub tx: Transaction,
    /// One entry per output of `tx`.
    pub meta: Vec<OutputMeta>,
    /// The last status the node reported; `None` right after creation.
    pub status: Option<TxStatus>,
    /// The epoch it was created in: a restarted node searches final blocks from there.
    pub epoch: u64,
}

impl OutgoingRecord {
    /// Whether the transaction can still change status (not final, rejected or conflicted).
    pub fn is_pending(&self) -> bool {
        !matches!(
            self.status,
            Some(
                TxStatus::Committed { .. }
                    | TxStatus::Rejected { .. }
                    | TxStatus::Conflicted { .. }
            )
        )
    }
}

/// One entry of an account's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum HistoryRecord {
    /// An output the account received (the whole output, so its comment can be decrypted
    /// after it is spent).
    Incoming {
        /// The output's hash.
        utxo: Hash,
        /// The output.
        output: TxOutput,
    },
    /// A transaction the account sent.
    Outgoing(OutgoingRecord),
}

/// Key of account `id`'s record.
pub(crate) fn account_key(id: u32) -> Vec<u8> {
    let mut k = ACCOUNT.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of account `id`'s history.
pub(crate) fn history_prefix(id: u32) -> Vec<u8> {
    let mut k = HISTORY.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Key of one history entry.
pub(crate) fn history_key(id: u32, at: HistoryAt) -> Vec<u8> {
    let mut k = history_prefix(id);
    k.extend_from_slice(&at.0.to_be_bytes());
    k.extend_from_slice(&at.1.to_be_bytes());
    k
}

/// Reads the (timestamp, sequence) back from a history key.
pub(crate) fn history_at(key: &[u8]) -> Option<HistoryAt> {
    let tail = key.get(HISTORY.len() + 4..)?;
    let ts = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(tail.get(8..16)?.try_into().ok()?);
    Some((ts, seq))
}

/// Prefix of trash slot `n`.
pub(crate) fn trash_prefix(n: u64) -> Vec<u8> {
    let mut k = TRASH.to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k.push(b'/');
    k
}

/// Encodes a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("wallet records always serialise")
}

/// Decodes a record, naming what was corrupt.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("stored {what} is corrupt: {e}"))
}
