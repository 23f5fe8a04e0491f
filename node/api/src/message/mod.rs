//! Every message of the WebSocket API as a typed value, with a fast JSON encoding.
//!
//! A client sends [`Request`]s; the server sends [`ServerMessage`]s (responses,
//! notifications and errors). Both are an *envelope* around a *kind*: [`RequestKind`] /
//! [`ServerKind`] has one variant per `type`, holding a body struct with that type's fields.
//! Hashes, keys and addresses are plain `String`s at this layer (the node validates them),
//! amounts are `i64` µSTG, points in time are [`Timestamp`]s.
//!
//! # The envelope
//!
//! ```json
//! {"type":"balance_info","id":2,"account_id":"1","payment":{"current":1,"available":1},...}
//! ```
//!
//! - `type` names the message; on output it is always written first.
//! - `id` (u64) matches a response to its request. Absent (or `null`) reads as 0, and 0 is
//!   not written: notifications have no id.
//! - `account_id` (string) names the account of wallet messages; absent or `null` is `None`,
//!   and `None` is not written.
//! - Every other key belongs to the body. Unknown keys are ignored, so older peers accept
//!   messages from newer ones. The envelope keys may appear anywhere in the object.
//!
//! Aliases accepted on input (the canonical name is written on output):
//! `list_accounts` = `accounts_info`, `get_recovery` = `recovery_info` (requests),
//! `output_hash` = `utxo` in `validate_certificate`, and the status `create` = `created`.
//!
//! Errors: [`Request::from_json`] and [`ServerMessage::from_json`] return a
//! [`MessageError`] saying what was wrong (not JSON, not an object, no `type`, unknown
//! `type`, missing or invalid field, naming type and field), carrying the message's `id`
//! when it was readable, and mapping to a stable [`ErrorCode`] for the `error` reply
//! ([`MessageError::reply`]). No input makes them panic.
//!
//! # Why the decoder is hand-written
//!
//! The obvious model, `#[serde(tag = "type")]` on the kind enum, makes serde buffer every
//! message into its private `Content` tree before choosing the variant, because `type` might
//! come last. That costs more than the whole parse of a plain struct (measured: 0.54-0.69 M
//! round trips/s tagged against 0.72-0.82 M/s plain for `balance_info`), and this codec
//! sits on every frame of the load generator. So the envelope visitor (`envelope.rs`) reads
//! the object's keys in order:
//!
//! 1. `id` and `account_id` are read into the envelope as they come;
//! 2. at `type`, the name is looked up in the kind's table, and the *rest of the same map*
//!    is handed to that variant's body `Deserialize` through a `MapAccess` wrapper, which
//!    keeps taking `id` / `account_id` out if they come later. No buffering, no second pass.
//! 3. Only when some other key comes before `type` (no sample does that) are those entries
//!    buffered as `serde_json::Value`s and replayed to the body first.
//!
//! Along the way it notes the `id`, the type and the field being read, so that a failure
//! becomes a precise [`MessageError`] instead of serde's bare message.
//!
//! Two smaller measured choices: the input is checked as UTF-8 once and parsed as `&str`
//! (serde_json otherwise re-checks every string it reads from bytes: ~20% of the decode of
//! `balance_info`), and the decoded kind is written into a slot instead of being returned
//! through serde's layers (a ~200-byte value copied several times: ~5%).
//!
//! Measured (`cargo bench -p stegosim-api --bench message`, 2 shared cores): for the
//! seed's 233-byte `balance_info`, `to_json` ~180 ns and `from_json` ~360 ns, against
//! ~180 / ~400 ns for one plain derived struct read from bytes and ~210 / ~1300 ns through
//! `serde_json::Value`. With `type` last (the buffered path) `from_json` takes ~1.1 µs.
//!
//! Encoding writes `type`, `id`, `account_id` and then the body's fields into one JSON
//! object (`#[serde(flatten)]` on the serialize side streams; it never buffers), appending to
//! a caller-owned `Vec<u8>` so a connection can reuse one buffer.
//!
//! # Adding a message type
//!
//! 1. Write the body struct in `request.rs` or `server.rs` (derive `Serialize`,
//!    `Deserialize`; `Option` fields the peer may omit get
//!    `#[serde(default, skip_serializing_if = "Option::is_none")]`; a doc on every field).
//!    A message without fields needs no body.
//! 2. Add one line to the `message_kinds!` table of [`RequestKind`] or [`ServerKind`]:
//!    `MyVariant(MyBody) = "my_type" | "my_alias",`. That line alone makes it decode (by
//!    name and aliases), encode (canonical name) and appear in `TYPE_NAMES`.
//! 3. Add it to the proptest strategy in `tests.rs` and, if the seed document shows it, a
//!    sample to `node/tests/seed_samples.rs`.
//!
//! A body must not have a top-level field named `type`, `id` or `account_id`: those keys
//! belong to the envelope.

mod envelope;
mod error;
mod request;
mod server;
#[cfg(test)]
mod tests;
mod timestamp;

pub use error::{ErrorCode, MessageError, MessageErrorKind};
pub use request::{
    ChainPosition, ChangePassword, CloakAll, CreateAccount, HistoryQuery, MacroBlockQuery, Payment,
    RecoverAccount, RequestKind, StakeAmount, Unseal, UnstakeAll, ValidateCertificate,
};
pub use server::{
    AccountKeys, AccountsInfo, Balance, BalanceAmounts, BalanceChanged, BlockValidator,
    CertificateValid, ChainName, ElectionInfo, ErrorBody, EscrowInfo, EscrowStake, EscrowValidator,
    HistoryInfo, IncomingEntry, Lagged, LogEntry, MacroBlock, MicroBlock, NodeStatus,
    OutgoingEntry, OutputInfo, OutputType, PaymentUtxo, PublicAddress, PublicAddressCreated,
    PublicAddressesInfo, PublicPaymentUtxo, Recovery, ServerKind, SnowballState, SnowballStatus,
    StakeUtxo, SubscribedChain, TransactionCreated, TransactionStatus, TxStatus, TxSummary,
    UnspentInfo,
};
pub use timestamp::{Timestamp, TimestampError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use envelope::Kind;

/// Appends `message` as compact JSON to `out`.
fn write_json<T: Serialize>(message: &T, out: &mut Vec<u8>) {
    // Cannot fail: writing to a Vec does no I/O, every map key in these types is a string
    // or an integer, there are no floats, and Timestamp formatting is infallible.
    serde_json::to_writer(out, message).expect("API messages always serialize to JSON");
}

/// One message on the wire: the envelope (`id`, `account_id`) around what is said. Requests
/// and server messages share it, so decoding, encoding and serde support are written once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<K> {
    /// Opaque id a response copies; 0 means none (and is not written). Notifications have
    /// none.
    pub id: u64,
    /// The account the message is about: set on wallet requests and wallet notifications;
    /// `None` for node requests and node notifications.
    pub account_id: Option<String>,
    /// What is asked ([`RequestKind`]) or said ([`ServerKind`]).
    pub kind: K,
}

/// A message from a client: the envelope and the request itself.
pub type Request = Envelope<RequestKind>;

/// A message from the server: a response (with the request's `id`), a notification (no
/// `id`) or an error.
pub type ServerMessage = Envelope<ServerKind>;

impl<K: Kind> Envelope<K> {
    /// A message without id or account (a node request, or a node notification).
    pub fn new(kind: K) -> Self {
        Self {
            id: 0,
            account_id: None,
            kind,
        }
    }

    /// Decodes one message from a complete JSON text. Never panics.
    ///
    /// # Errors
    /// A [`MessageError`] when the text is not one JSON object holding a known `type` with
    /// valid fields; it carries the `id` when that was readable.
    pub fn from_json(json: &[u8]) -> Result<Self, MessageError> {
        envelope::decode(json, |id, account_id, kind: K| Self {
            id,
            account_id,
            kind,
        })
    }

    /// Appends the message as compact JSON to `out` (which it does not clear, so a caller
    /// can reuse one buffer or prepend its own bytes).
    pub fn to_json(&self, out: &mut Vec<u8>) {
        write_json(self, out);
    }

    /// The canonical `type` name.
    pub fn type_name(&self) -> &'static str {
        self.kind.kind_type_name()
    }
}

impl ServerMessage {
    /// An `error` reply to request `id` (0 when unknown).
    pub fn error(id: u64, code: ErrorCode, error: impl Into<String>) -> Self {
        Self {
            id,
            account_id: None,
            kind: ServerKind::Error(ErrorBody {
                error: error.into(),
                code: Some(code),
            }),
        }
    }
}

impl<K: Kind> Serialize for Envelope<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.kind
            .serialize_envelope(self.id, self.account_id.as_deref(), serializer)
    }
}

impl<'de, K: Kind> Deserialize<'de> for Envelope<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        envelope::deserialize(deserializer, |id, account_id, kind: K| Self {
            id,
            account_id,
            kind,
        })
    }
}

impl MessageError {
    /// The `error` reply the server sends for this failure: the message's `id` (if it was
    /// readable), the human-readable text and the code.
    pub fn reply(&self) -> ServerMessage {
        ServerMessage::error(self.id(), self.code(), self.to_string())
    }
}
