//! The genesis block and its keys, derived from `ChainConfig::genesis_seed`.
//!
//! Genesis creates `genesis_validators` validators, each with a network key (which leads,
//! votes and receives block rewards) and an account key that owns its initial stake, and
//! funds one plain wallet account (account "1" of node 0) with `genesis_funds` split over
//! `genesis_funds_outputs` payment outputs. All keys derive from the genesis seed, so every
//! node of a chain computes the same genesis block.

use crate::chain::block::{MacroBlock, ValidatorStake};
use crate::chain::tx::{Output, PaymentPayload, StakeOutput};
use crate::config::ChainConfig;
use crate::crypto::{Hash, Hasher, Keypair};

/// The keys genesis hands out.
#[derive(Debug, Clone)]
pub struct GenesisKeys {
    /// Network key of each genesis validator (node `i` runs validator `i`).
    pub validators: Vec<Keypair>,
    /// Account key owning each validator's initial stake.
    pub validator_accounts: Vec<Keypair>,
    /// The funded wallet account ("1" on node 0).
    pub funded_account: Keypair,
    /// The extra funded accounts of `ChainConfig::genesis_accounts`, in that order.
    pub accounts: Vec<Keypair>,
}

fn seed_for(cfg: &ChainConfig, what: &str, index: u64) -> [u8; 32] {
    let mut h = Hasher::new("stegosim genesis key v1");
    h.update_u64(cfg.genesis_seed)
        .update_str(what)
        .update_u64(index);
    *h.finalize().as_bytes()
}

impl GenesisKeys {
    /// The keys of the chain `cfg` describes.
    pub fn derive(cfg: &ChainConfig) -> GenesisKeys {
        let n = cfg.genesis_validators as u64;
        GenesisKeys {
            validators: (0..n)
                .map(|i| Keypair::from_seed(seed_for(cfg, "validator network key", i)))
                .collect(),
            validator_accounts: (0..n)
                .map(|i| Keypair::from_seed(seed_for(cfg, "validator account", i)))
                .collect(),
            funded_account: Keypair::from_seed(seed_for(cfg, "funded account", 0)),
            accounts: (0..cfg.genesis_accounts.len() as u64)
                .map(|i| Keypair::from_seed(seed_for(cfg, "genesis account", i)))
                .collect(),
        }
    }
}

/// The genesis macro block (epoch 0) of the chain `cfg` describes.
pub fn genesis_block(cfg: &ChainConfig, keys: &GenesisKeys) -> MacroBlock {
    let mut outputs = Vec::new();
    let count = cfg.genesis_funds_outputs as i64;
    let share = cfg.genesis_funds / count;
    for i in 0..count {
        // The last output takes the rounding remainder.
        let amount = if i == count - 1 {
            cfg.genesis_funds - share * (count - 1)
        } else {
            share
        };
        let payload = PaymentPayload {
            amount,
            comment: "Genesis".into(),
            spender: None,
            rvalue_hint: false,
        };
        outputs.push(payload.into_output(
            keys.funded_account.public(),
            None,
            seed_for(cfg, "genesis payment r", i as u64),
        ));
    }
    for (i, (key, amount)) in keys.accounts.iter().zip(&cfg.genesis_accounts).enumerate() {
        let payload = PaymentPayload {
            amount: *amount,
            comment: "Genesis".into(),
            spender: None,
            rvalue_hint: false,
        };
        outputs.push(payload.into_output(
            key.public(),
            None,
            seed_for(cfg, "genesis account r", i as u64),
        ));
    }
    let mut validators = Vec::new();
    for (i, (v, a)) in keys
        .validators
        .iter()
        .zip(&keys.validator_accounts)
        .enumerate()
    {
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&seed_for(cfg, "genesis stake nonce", i as u64)[..16]);
        outputs.push(Output::Stake(StakeOutput {
            owner: *a.public(),
            validator: *v.public(),
            amount: cfg.genesis_stake,
            active_until_epoch: cfg.stake_epochs,
            nonce,
        }));
        validators.push(ValidatorStake {
            network_pkey: *v.public(),
            stake: cfg.genesis_stake,
        });
    }
    let mut random = Hasher::new("stegosim genesis random v1");
    random.update_u64(cfg.genesis_seed);
    MacroBlock {
        epoch: 0,
        view_change: 0,
        previous: Hash::default(),
        proposer: *keys.validators[0].public(),
        timestamp_ns: cfg.genesis_time_ns,
        random: random.finalize(),
        inputs: Vec::new(),
        outputs,
        transactions: Vec::new(),
        minted: 0,
        validators,
        multisig: Vec::new(),
        memo: Default::default(),
    }
}
