//! Restaking: a validator's stakes expire after `stake_epochs`; the node spends its expired
//! stakes into new ones, automatically once per epoch at an offset drawn at the epoch's start
//! (so that validators do not all restake in one block), or on demand (`restake_all`).

use std::collections::BTreeMap;

use crate::chain::tx::{Output as TxOutput, StakeOutput, Transaction};
use crate::crypto::{Hash, PublicKey, SecretKey};
use crate::node::{Event, Node};
use crate::rng::{Seed, Stream};

/// The node's restaking state.
#[derive(Debug)]
pub(super) struct Restaking {
    /// Whether expired stakes are restaked automatically (default on, not persisted).
    enabled: bool,
    /// Offset of the epoch at which this node restakes.
    offset: u32,
    /// Epoch in which this node last restaked automatically.
    restaked_epoch: Option<u64>,
    /// Randomness for restake offsets.
    offset_rng: Stream,
    /// Randomness for transaction output nonces.
    nonce_rng: Stream,
}

impl Restaking {
    /// Restaking on, with the node's own random streams.
    pub(super) fn new(seed: &Seed) -> Restaking {
        Restaking {
            enabled: true,
            offset: 0,
            restaked_epoch: None,
            offset_rng: seed.stream("restake"),
            nonce_rng: seed.stream("nonce"),
        }
    }

    /// A new epoch: draws the offset at which this node restakes in it, from
    /// `micro_blocks_per_epoch`.
    pub(super) fn draw_offset(&mut self, micro_blocks_per_epoch: u32) {
        self.offset = self.offset_rng.below(micro_blocks_per_epoch as u64) as u32;
    }
}

impl Node {
    /// Whether automatic restaking is on.
    pub fn restaking_enabled(&self) -> bool {
        self.restaking.enabled
    }

    /// Turns automatic restaking on or off; returns the previous setting.
    pub fn set_restaking(&mut self, enabled: bool) -> bool {
        std::mem::replace(&mut self.restaking.enabled, enabled)
    }

    /// Restakes this validator's expired stakes: automatically once per epoch at the node's
    /// random offset (when enabled and synchronized), or on demand (`restake_all`, `force`).
    /// Returns the transaction hashes submitted.
    pub fn restake(&mut self, now_ns: u64, force: bool) -> Vec<Hash> {
        self.set_now(now_ns);
        let hashes = self.restake_inner(force);
        self.after_input();
        hashes
    }

    /// After every input: the automatic restake, once per epoch when the epoch reached this
    /// node's offset.
    pub(super) fn maybe_restake(&mut self) {
        if self.restaking.enabled
            && self.synchronized
            && self.restaking.restaked_epoch != Some(self.chain.epoch())
            && self.chain.offset() >= self.restaking.offset
            && !self.chain.epoch_full()
        {
            self.restaking.restaked_epoch = Some(self.chain.epoch());
            self.restake_inner(false);
        }
    }

    /// Submits one restake transaction per owner and [`tx_inputs_max`] expired stakes of
    /// this validator that no mempool transaction spends yet.
    ///
    /// [`tx_inputs_max`]: crate::config::ChainConfig::tx_inputs_max
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
                    nonce: self.restaking.nonce_rng.bytes16(),
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
