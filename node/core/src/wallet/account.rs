//! One account in memory: its stored record, its keys while unsealed, the outputs it owns and
//! its history.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::message::Balance;
use crate::chain::tx::{Output as TxOutput, PaymentOutput, PaymentPayload};
use crate::crypto::{Hash, Keypair, PublicKey, SecretKey, decrypt_payload};

use super::records::{AccountRecord, HistoryAt, HistoryRecord};

/// Decrypted payloads an unsealed account keeps, at most; past it the cache starts over
/// (decrypting again costs one Diffie-Hellman).
const PAYLOAD_CACHE_MAX: usize = 4096;

/// An account's keys, present only while it is unsealed.
pub(crate) struct Unsealed {
    /// The account's keypair.
    pub key: Keypair,
    /// The public addresses' keypairs, `public_address_id` = index + 1.
    pub addresses: Vec<Keypair>,
    /// Decrypted payment payloads by output hash (`None`: the payload does not open).
    payloads: BTreeMap<Hash, Option<PaymentPayload>>,
}

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsealed")
            .field("pkey", self.key.public())
            .field("addresses", &self.addresses.len())
            .finish_non_exhaustive()
    }
}

impl Unsealed {
    /// The keys of an account whose secret is `key`, with `addresses` public addresses.
    pub fn new(key: Keypair, addresses: usize) -> Unsealed {
        let addresses = (1..=addresses as u32).map(|id| key.derive(id)).collect();
        Unsealed {
            key,
            addresses,
            payloads: BTreeMap::new(),
        }
    }

    /// The secret key that owns `owner`, if it is one of this account's keys.
    pub fn secret_for(&self, owner: &PublicKey) -> Option<&SecretKey> {
        if owner == self.key.public() {
            return Some(self.key.secret());
        }
        self.addresses
            .iter()
            .find(|k| k.public() == owner)
            .map(Keypair::secret)
    }

    /// The decrypted payload of a payment output this account owns (cached).
    pub fn payload(&mut self, utxo: &Hash, output: &PaymentOutput) -> Option<&PaymentPayload> {
        if !self.payloads.contains_key(utxo) {
            if self.payloads.len() >= PAYLOAD_CACHE_MAX {
                self.payloads.clear();
            }
            let opened = self.secret_for(&output.recipient).and_then(|sk| {
                decrypt_payload(sk, &output.payload)
                    .ok()
                    .and_then(|p| PaymentPayload::from_bytes(&p))
            });
            self.payloads.insert(*utxo, opened);
        }
        self.payloads.get(utxo).and_then(Option::as_ref)
    }

    /// The comment of an output this account owns (empty when it has none or it does not
    /// open).
    pub fn comment(&mut self, utxo: &Hash, output: &TxOutput) -> String {
        match output {
            TxOutput::Payment(p) => self
                .payload(utxo, p)
                .map(|p| p.comment.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// An account in memory.
#[derive(Debug)]
pub(crate) struct Account {
    /// What the store holds.
    pub record: AccountRecord,
    /// Keys while unsealed.
    pub unsealed: Option<Unsealed>,
    /// Unspent outputs the account owns, with their amounts (the ledger holds them).
    pub utxos: BTreeMap<Hash, i64>,
    /// The same outputs by amount, less those the account's own waiting transactions spend,
    /// so coin selection takes the largest free ones first without sorting or skipping them
    /// all for every payment. (Selection still checks the mempool's claims: this only saves
    /// time.)
    pub by_amount: BTreeSet<(i64, Hash)>,
    /// History by (timestamp, sequence).
    pub history: BTreeMap<HistoryAt, HistoryRecord>,
    /// Where each incoming output's history entry is.
    pub incoming: BTreeMap<Hash, HistoryAt>,
    /// Outgoing transactions that can still change status, and where their entry is.
    pub pending: BTreeMap<Hash, HistoryAt>,
    /// Outputs the account made as change of its own transactions.
    pub changes: BTreeSet<Hash>,
    /// The balance last sent in `balance_changed` (or seen at unseal).
    pub last_balance: Option<Balance>,
}

impl Account {
    /// An account with no outputs or history yet.
    pub fn new(record: AccountRecord) -> Account {
        Account {
            record,
            unsealed: None,
            utxos: BTreeMap::new(),
            by_amount: BTreeSet::new(),
            history: BTreeMap::new(),
            incoming: BTreeMap::new(),
            pending: BTreeMap::new(),
            changes: BTreeSet::new(),
            last_balance: None,
        }
    }

    /// Starts tracking an unspent output.
    pub fn insert_utxo(&mut self, utxo: Hash, amount: i64) {
        if self.utxos.insert(utxo, amount).is_none() {
            self.by_amount.insert((amount, utxo));
        }
    }

    /// Stops tracking an output.
    pub fn remove_utxo(&mut self, utxo: &Hash) {
        if let Some(amount) = self.utxos.remove(utxo) {
            self.by_amount.remove(&(amount, *utxo));
        }
    }

    /// Takes a waiting transaction's inputs out of coin selection.
    pub fn reserve(&mut self, inputs: &[Hash]) {
        for h in inputs {
            if let Some(amount) = self.utxos.get(h) {
                self.by_amount.remove(&(*amount, *h));
            }
        }
    }

    /// Gives a dropped transaction's inputs, those still unspent, back to coin selection.
    pub fn release(&mut self, inputs: &[Hash]) {
        for h in inputs {
            if let Some(amount) = self.utxos.get(h) {
                self.by_amount.insert((*amount, *h));
            }
        }
    }

    /// Every key whose outputs belong to the account: its own and its public addresses'.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        std::iter::once(&self.record.pkey).chain(self.record.public_addresses.iter())
    }

    /// Adds a history record loaded from the store or just made, indexing it.
    pub fn index_history(&mut self, at: HistoryAt, record: HistoryRecord) {
        match &record {
            HistoryRecord::Incoming { utxo, .. } => {
                self.incoming.insert(*utxo, at);
            }
            HistoryRecord::Outgoing(o) => {
                for (out, meta) in o.tx.outputs.iter().zip(&o.meta) {
                    if meta.is_change {
                        self.changes.insert(out.hash());
                    }
                }
                if o.is_pending() {
                    self.pending.insert(o.tx.hash(), at);
                }
            }
        }
        self.history.insert(at, record);
    }
}
