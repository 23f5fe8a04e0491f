//! Outputs and transactions: what the ledger stores and what blocks carry.
//!
//! An output is named by its hash (the API's `utxo`). A transaction spends outputs (by hash)
//! and creates outputs; the difference is its fee. Its hash covers inputs, outputs and fee but
//! not the signature, so a joint (Snowball) transaction has a hash before anyone signs it.
//! The signature verifies against the sum of the public keys that authorise its inputs (the
//! owner for payments, the validator's network key for a restake), so one check covers any
//! number of inputs and owners.
//!
//! Simplification (documented in the README): amounts and recipients are visible to the
//! ledger. The original hid them behind Pedersen commitments and range proofs; here the
//! recipient's payload (amount, comment, sender) is still encrypted for payment outputs, so
//! payment certificates work as documented, but the ledger checks plain amounts.

use serde::{Deserialize, Serialize};

use crate::chain::memo::Memo;
use crate::crypto::{EncryptedPayload, Hash, Hasher, PublicKey, Signature};

/// Where a transaction is in the pipeline (mempool, micro block, macro block), or why it
/// left it. It lives here, with the transaction and below both the node (which sets it as
/// blocks come and go) and the wallet (which records it in its history), so that neither of
/// the two has to import the other.
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

/// A payment to a recipient, with an encrypted payload only the recipient (or the holder of
/// the payment's r-value) can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOutput {
    /// Whose key may spend it.
    pub recipient: PublicKey,
    /// Amount in µSTG.
    pub amount: i64,
    /// The output cannot be spent before this time (ns since the Unix epoch).
    pub locked_until_ns: Option<u64>,
    /// Amount, comment and sender, encrypted for the recipient.
    pub payload: EncryptedPayload,
}

/// An uncloaked payment, as to a public address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPaymentOutput {
    /// Whose key may spend it.
    pub recipient: PublicKey,
    /// Amount in µSTG.
    pub amount: i64,
    /// The output cannot be spent before this time (ns since the Unix epoch).
    pub locked_until_ns: Option<u64>,
    /// Makes two otherwise equal outputs distinct (their hashes name them).
    pub nonce: [u8; 16],
}

/// Tokens locked in the escrow behind a validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeOutput {
    /// The account that staked and gets the tokens back on unstake.
    pub owner: PublicKey,
    /// The validator's network key this stake counts for.
    pub validator: PublicKey,
    /// Amount in µSTG.
    pub amount: i64,
    /// The stake is active while the chain's epoch is below this.
    pub active_until_epoch: u64,
    /// Makes two otherwise equal outputs distinct.
    pub nonce: [u8; 16],
}

/// One output of a transaction or block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// A cloaked payment.
    Payment(PaymentOutput),
    /// An uncloaked payment.
    PublicPayment(PublicPaymentOutput),
    /// A stake in the escrow.
    Stake(StakeOutput),
}

impl Output {
    /// The output's amount in µSTG.
    pub fn amount(&self) -> i64 {
        match self {
            Output::Payment(o) => o.amount,
            Output::PublicPayment(o) => o.amount,
            Output::Stake(o) => o.amount,
        }
    }

    /// The key that owns it: the recipient, or a stake's owner.
    pub fn owner(&self) -> &PublicKey {
        match self {
            Output::Payment(o) => &o.recipient,
            Output::PublicPayment(o) => &o.recipient,
            Output::Stake(o) => &o.owner,
        }
    }

    /// When it unlocks, if it is time-locked.
    pub fn locked_until_ns(&self) -> Option<u64> {
        match self {
            Output::Payment(o) => o.locked_until_ns,
            Output::PublicPayment(o) => o.locked_until_ns,
            Output::Stake(_) => None,
        }
    }

    /// The API's name of the output type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Output::Payment(_) => "payment",
            Output::PublicPayment(_) => "public_payment",
            Output::Stake(_) => "stake",
        }
    }

    /// The output's hash: its name everywhere (`utxo`).
    pub fn hash(&self) -> Hash {
        let mut h = Hasher::new("stegosim output v1");
        match self {
            Output::Payment(o) => {
                h.update_u8(0)
                    .update(o.recipient.as_bytes())
                    .update_u64(o.amount as u64)
                    .update_u64(o.locked_until_ns.map_or(0, |t| t.saturating_add(1)))
                    .update(o.payload.r_point.as_bytes())
                    .update_bytes(&o.payload.ciphertext)
                    .update(&o.payload.tag);
            }
            Output::PublicPayment(o) => {
                h.update_u8(1)
                    .update(o.recipient.as_bytes())
                    .update_u64(o.amount as u64)
                    .update_u64(o.locked_until_ns.map_or(0, |t| t.saturating_add(1)))
                    .update(&o.nonce);
            }
            Output::Stake(o) => {
                h.update_u8(2)
                    .update(o.owner.as_bytes())
                    .update(o.validator.as_bytes())
                    .update_u64(o.amount as u64)
                    .update_u64(o.active_until_epoch)
                    .update(&o.nonce);
            }
        }
        h.finalize()
    }
}

/// A signed transfer: inputs spent, outputs created, the fee is the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Hashes of the outputs spent.
    pub inputs: Vec<Hash>,
    /// Outputs created.
    pub outputs: Vec<Output>,
    /// The fee, in µSTG: sum(inputs) - sum(outputs).
    pub fee: i64,
    /// Schnorr signature over [`Transaction::hash`] by the sum of the inputs' authorising keys.
    pub signature: Signature,
    /// The transaction's hash and its outputs' hashes, computed once (see [`Memo`]): the
    /// other fields must not change after [`Transaction::hash`] was called (the signature may).
    #[serde(skip)]
    memo: Memo<TxHashes>,
}

/// What a transaction's memo holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TxHashes {
    /// [`Transaction::hash`].
    tx: Hash,
    /// [`Output::hash`] of each output, in order.
    outputs: Vec<Hash>,
}

impl Transaction {
    /// A transaction from its parts.
    pub fn new(inputs: Vec<Hash>, outputs: Vec<Output>, fee: i64, signature: Signature) -> Self {
        Transaction {
            inputs,
            outputs,
            fee,
            signature,
            memo: Memo::new(),
        }
    }

    /// The transaction's hash (`tx_hash`): inputs, outputs and fee, not the signature.
    /// Computed on the first call and kept (clones keep it too).
    pub fn hash(&self) -> Hash {
        self.hashes().tx
    }

    /// The hashes of the outputs, in order (computed with [`Transaction::hash`]).
    pub fn output_hashes(&self) -> &[Hash] {
        &self.hashes().outputs
    }

    fn hashes(&self) -> &TxHashes {
        self.memo.get_or_init(|| {
            let outputs: Vec<Hash> = self.outputs.iter().map(Output::hash).collect();
            TxHashes {
                tx: Self::body_hash_of_output_hashes(&self.inputs, &outputs, self.fee),
                outputs,
            }
        })
    }

    /// Forgets the memoised hashes: call after editing `inputs`, `outputs` or `fee` of a
    /// transaction that may have been hashed.
    pub fn clear_hash_memo(&mut self) {
        self.memo.clear();
    }

    /// The hash of a transaction body, before it is signed.
    pub fn body_hash(inputs: &[Hash], outputs: &[Output], fee: i64) -> Hash {
        Self::body_hash_of(inputs, outputs.len(), outputs.iter().map(Output::hash), fee)
    }

    /// [`Transaction::body_hash`] from the outputs' hashes, for a caller that has them already
    /// (the ledger hashes every output once per validation and reuses the hashes).
    pub fn body_hash_of_output_hashes(inputs: &[Hash], output_hashes: &[Hash], fee: i64) -> Hash {
        Self::body_hash_of(
            inputs,
            output_hashes.len(),
            output_hashes.iter().copied(),
            fee,
        )
    }

    fn body_hash_of(
        inputs: &[Hash],
        outputs_len: usize,
        output_hashes: impl Iterator<Item = Hash>,
        fee: i64,
    ) -> Hash {
        let mut h = Hasher::new("stegosim tx v1");
        h.update_u64(inputs.len() as u64);
        for i in inputs {
            h.update_hash(i);
        }
        h.update_u64(outputs_len as u64);
        for o in output_hashes {
            h.update_hash(&o);
        }
        h.update_u64(fee as u64);
        h.finalize()
    }
}

/// What a payment output's encrypted payload holds for its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPayload {
    /// Amount in µSTG (the same as the output's).
    pub amount: i64,
    /// The sender's comment (at most `comment_chars_max` characters).
    pub comment: String,
    /// The sender's account key, when the sender chose to reveal it (needed for
    /// certificates: `validate_certificate` checks it).
    pub spender: Option<PublicKey>,
    /// Whether the sender kept the r-value (a certificate exists).
    pub rvalue_hint: bool,
}

impl PaymentPayload {
    /// Encodes the payload (postcard), the plaintext of the encryption.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a payload always serialises")
    }

    /// Decodes a decrypted payload.
    pub fn from_bytes(bytes: &[u8]) -> Option<PaymentPayload> {
        postcard::from_bytes(bytes).ok()
    }

    /// A payment output carrying this payload to `recipient`, encrypted with the r-value drawn
    /// from `r_seed` (the caller's random stream).
    pub fn into_output(
        self,
        recipient: &PublicKey,
        locked_until_ns: Option<u64>,
        r_seed: [u8; 32],
    ) -> Output {
        let r = crate::crypto::Rvalue::from_seed(r_seed);
        let payload = crate::crypto::encrypt_payload(&r, recipient, &self.to_bytes());
        Output::Payment(PaymentOutput {
            recipient: *recipient,
            amount: self.amount,
            locked_until_ns,
            payload,
        })
    }
}
