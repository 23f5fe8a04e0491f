//! Chain parameters: every constant of the protocol is a field of [`ChainConfig`].
//!
//! Two presets exist: [`ChainConfig::dev`] (fast: one-second micro blocks, ten per epoch,
//! stakes that last one epoch, four validators) for tests, simulations and `stegosim node`,
//! and [`ChainConfig::testnet`] (the original's pacing: sixty micro blocks per epoch, stakes
//! that last ten epochs, thirty-second timeouts). Scenario files override single fields.

use serde::{Deserialize, Serialize};

/// One second in nanoseconds, the unit of every `*_ns` field.
pub const SECOND_NS: u64 = 1_000_000_000;
/// One STG in µSTG, the unit of every amount.
pub const STG: i64 = 1_000_000;

/// The protocol's constants for one chain. A doc line per field says what it governs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// The chain's name, returned by `chain_name` (`dev`, `testnet`, ...).
    pub name: String,
    /// Bech32 prefix of account keys and public addresses (`dev`, `str`, `stt`, `stg`).
    pub address_prefix: String,
    /// Micro blocks in one epoch; the macro block closes the epoch after the last of them.
    pub micro_blocks_per_epoch: u32,
    /// Time between two micro blocks produced by a live leader.
    pub block_interval_ns: u64,
    /// How long validators wait past the expected block time before voting a view change.
    pub micro_block_timeout_ns: u64,
    /// First round timeout of the macro-block BFT; round `r` waits `(r + 1)` times this, up
    /// to [`ChainConfig::macro_round_timeout_max_ns`].
    pub macro_round_timeout_ns: u64,
    /// Longest timeout of one macro-block BFT round, however many rounds failed. Growing
    /// rounds let slow links catch up; without a cap, a fault that stalled the BFT for `T`
    /// left rounds about `sqrt(2 T / macro_round_timeout_ns)` times the first one long, so a
    /// network healed after an hour (dev chain) waited minutes more for the round to end.
    /// With it, recovery after a fault of any length takes at most about one capped round.
    /// Must be at least `macro_round_timeout_ns`.
    pub macro_round_timeout_max_ns: u64,
    /// Epochs a stake stays active: `active_until_epoch = stake epoch + stake_epochs`.
    pub stake_epochs: u64,
    /// Smallest active stake that makes a validator eligible for election, in µSTG.
    pub min_stake: i64,
    /// Election slots drawn stake-weighted each epoch.
    pub slots_count: u32,
    /// Reward minted for the leader of every micro block, in µSTG (fees are added to it).
    pub block_reward: i64,
    /// Smallest fee per created payment output, in µSTG.
    pub payment_fee_min: i64,
    /// Smallest fee per created stake output, in µSTG.
    pub stake_fee_min: i64,
    /// Largest number of inputs of one transaction.
    pub tx_inputs_max: usize,
    /// Largest number of outputs of one transaction.
    pub tx_outputs_max: usize,
    /// Largest number of transactions in one micro block.
    pub block_txs_max: usize,
    /// Largest number of transactions waiting in the mempool.
    pub mempool_txs_max: usize,
    /// Longest comment of a payment, in characters.
    pub comment_chars_max: usize,
    /// Validators created by the genesis block.
    pub genesis_validators: u32,
    /// Initial stake of each genesis validator, in µSTG.
    pub genesis_stake: i64,
    /// Funds given by genesis to wallet account "1" of node 0, in µSTG.
    pub genesis_funds: i64,
    /// Number of outputs the genesis funds are split over, so payments in flight do not
    /// lock all of them.
    pub genesis_funds_outputs: u32,
    /// Timestamp of the genesis block, nanoseconds since the Unix epoch. Virtual time starts
    /// here in simulations.
    pub genesis_time_ns: u64,
    /// Seed of the genesis keys (validators' keys, the funded account): the chain's identity.
    pub genesis_seed: u64,
    /// Extra genesis-funded accounts (simulations and tests give wallets on several nodes
    /// funds): account `i` gets one payment output of `genesis_accounts[i]` µSTG, to a key
    /// derived from the genesis seed ([`crate::chain::genesis::GenesisKeys::accounts`]).
    /// Empty by default, which leaves the genesis block as it was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub genesis_accounts: Vec<i64>,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self::dev()
    }
}

impl ChainConfig {
    /// The fast development chain used by tests, simulations and `stegosim node`.
    pub fn dev() -> Self {
        ChainConfig {
            name: "dev".into(),
            address_prefix: "dev".into(),
            micro_blocks_per_epoch: 10,
            block_interval_ns: SECOND_NS,
            micro_block_timeout_ns: 3 * SECOND_NS,
            macro_round_timeout_ns: 2 * SECOND_NS,
            // Five first rounds: a round needs three message delays (propose, prevote,
            // precommit); the simulator's slowest links (400 ms tails) need 1.2 s, so 10 s
            // leaves a wide margin while bounding recovery to seconds.
            macro_round_timeout_max_ns: 10 * SECOND_NS,
            stake_epochs: 1,
            min_stake: 1_000 * STG,
            slots_count: 1000,
            block_reward: 10 * STG,
            payment_fee_min: 1000,
            stake_fee_min: 1000,
            tx_inputs_max: 64,
            tx_outputs_max: 64,
            block_txs_max: 1000,
            mempool_txs_max: 100_000,
            comment_chars_max: 880,
            genesis_validators: 4,
            genesis_stake: 100_000 * STG,
            genesis_funds: 1_000_000 * STG,
            genesis_funds_outputs: 20,
            // 2026-01-01T00:00:00Z
            genesis_time_ns: 1_767_225_600 * SECOND_NS,
            genesis_seed: 0x5739_05de_0000_0001,
            genesis_accounts: Vec::new(),
        }
    }

    /// A testnet-like chain with the original's pacing.
    pub fn testnet() -> Self {
        ChainConfig {
            name: "testnet".into(),
            address_prefix: "stt".into(),
            micro_blocks_per_epoch: 60,
            block_interval_ns: 5 * SECOND_NS,
            micro_block_timeout_ns: 30 * SECOND_NS,
            macro_round_timeout_ns: 30 * SECOND_NS,
            // Four first rounds (two minutes): the original's pacing for slow real links,
            // yet a network back from a long outage closes its epoch within minutes.
            macro_round_timeout_max_ns: 120 * SECOND_NS,
            stake_epochs: 10,
            ..Self::dev()
        }
    }

    /// The preset named `name`, if there is one.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "dev" => Some(Self::dev()),
            "testnet" => Some(Self::testnet()),
            _ => None,
        }
    }

    /// Checks that the parameters make a chain that can run; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("micro_blocks_per_epoch", self.micro_blocks_per_epoch as i64),
            (
                "block_interval_ns",
                self.block_interval_ns.min(i64::MAX as u64) as i64,
            ),
            (
                "micro_block_timeout_ns",
                self.micro_block_timeout_ns.min(i64::MAX as u64) as i64,
            ),
            (
                "macro_round_timeout_ns",
                self.macro_round_timeout_ns.min(i64::MAX as u64) as i64,
            ),
            (
                "stake_epochs",
                self.stake_epochs.min(i64::MAX as u64) as i64,
            ),
            ("slots_count", self.slots_count as i64),
            ("tx_inputs_max", self.tx_inputs_max as i64),
            ("tx_outputs_max", self.tx_outputs_max as i64),
            ("block_txs_max", self.block_txs_max as i64),
            ("mempool_txs_max", self.mempool_txs_max as i64),
            ("genesis_validators", self.genesis_validators as i64),
            ("genesis_funds_outputs", self.genesis_funds_outputs as i64),
        ];
        for (field, value) in positive {
            if value <= 0 {
                return Err(format!("{field} must be greater than 0"));
            }
        }
        if self.macro_round_timeout_max_ns < self.macro_round_timeout_ns {
            return Err(format!(
                "macro_round_timeout_max_ns ({}) must be at least macro_round_timeout_ns ({})",
                self.macro_round_timeout_max_ns, self.macro_round_timeout_ns
            ));
        }
        if self.genesis_stake < self.min_stake {
            return Err(format!(
                "genesis_stake ({}) must be at least min_stake ({})",
                self.genesis_stake, self.min_stake
            ));
        }
        if self.genesis_funds < 0 || self.block_reward < 0 || self.payment_fee_min < 0 {
            return Err("amounts must not be negative".into());
        }
        if let Some((i, a)) = self
            .genesis_accounts
            .iter()
            .enumerate()
            .find(|(_, a)| **a <= 0)
        {
            return Err(format!(
                "genesis_accounts[{i}] is {a}: every genesis account needs positive funds"
            ));
        }
        if self.genesis_funds / (self.genesis_funds_outputs as i64) < self.payment_fee_min {
            return Err(
                "genesis_funds split over genesis_funds_outputs leaves outputs below the fee"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        ChainConfig::dev().validate().unwrap();
        ChainConfig::testnet().validate().unwrap();
        assert!(ChainConfig::preset("nope").is_none());
        let mut bad = ChainConfig::dev();
        bad.micro_blocks_per_epoch = 0;
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("micro_blocks_per_epoch")
        );
        let mut bad = ChainConfig::dev();
        bad.macro_round_timeout_max_ns = bad.macro_round_timeout_ns - 1;
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("macro_round_timeout_max_ns")
        );
    }
}
