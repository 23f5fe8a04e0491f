//! # The wallet: accounts, sealed keys, balances, payments and their history
//!
//! One node has one [`Wallet`]; it holds any number of accounts, each with one keypair
//! (PROTOCOL.md, "Wallet requests"). The wallet is a sans-IO part of the node like the
//! others: it never reads a clock or the OS's randomness (keys, salts, r-values and nonces
//! come from a seeded stream that continues across restarts, see `rng.rs`), and it sees the
//! rest of the node only through a [`WalletCtx`] the node lends it for each call: the chain,
//! the inputs the mempool has claimed, the store, the time and the node's network key.
//!
//! ## How the node drives it
//! - API requests about accounts: [`Wallet::handle_request`]. Most answer at once
//!   ([`Handled::Reply`]); requests that make a transaction return it
//!   ([`Handled::Submit`]), the node submits it to its mempool and hands the result to
//!   [`Wallet::finish_submit`], which records it and answers `transaction_created` (or the
//!   mempool's refusal as an error). A state-changing request is answered after the store
//!   is synced.
//! - Chain changes: [`Wallet::on_micro_applied`], [`Wallet::on_micro_reverted`],
//!   [`Wallet::on_macro_committed`] (after the chain changed), and
//!   [`Wallet::on_tx_status`] for every status the node gives a transaction.
//! - Notifications (`balance_changed`, `transaction_status`, `received`, `spent`, ...) go
//!   into [`WalletCtx::notify`], with `account_id` set, for unsealed accounts only; the node
//!   broadcasts them to every API connection.
//!
//! ## Finding an account's outputs
//! Recipients are visible to the ledger in this design (see `chain::tx`), so the wallet finds
//! its outputs by owner key: at start it scans the ledger once; afterwards it looks only at
//! the outputs a changed block names (spent and created), and checks each against the ledger,
//! which makes the update the same whether a block was applied, reverted or replaced by a
//! macro block. Sealed accounts are tracked too (their public keys are in clear), so an
//! account's balance is right the moment it is unsealed.
//!
//! ## Map
//! - `mod.rs`: [`Wallet`], configuration, requests about accounts, keys and history.
//! - `build.rs`: coin selection, fees, and building and signing the transactions of
//!   `payment`, `public_payment`, `cloak_all`, `stake`, `unstake`, `unstake_all`,
//!   `restake_all`.
//! - `track.rs`: following the chain: outputs received and spent, transaction statuses,
//!   balances and notifications, and what a restarted node resumes.
//! - `account.rs`: one account in memory. `records.rs`: what is stored, under which keys.
//!   `rng.rs`: the wallet's random stream.
//!
//! ## Simplifications (documented in the README)
//! - `secure_payment` (Snowball) is run by the node (`node/snowball.rs`); the wallet builds
//!   the account's contribution and records the joint transaction (`snowball.rs`). Two
//!   accounts of one wallet in the same round share one joint transaction, which the wallet
//!   follows for the last of them only.
//! - History is stored in clear (the secret key is the only encrypted thing); the original
//!   encrypted more of an account's files.
//! - Payment payloads always name the paying account (`spender`), so a certificate can be
//!   checked; only the recipient or the holder of the r-value can read it.

mod account;
mod build;
mod records;
mod rng;
mod snowball;
mod track;

pub use snowball::SnowballPrep;

use std::collections::BTreeMap;

use crate::api::message::{
    AccountKeys, AccountsInfo, ErrorCode, HistoryInfo, HistoryQuery, PublicAddress,
    PublicAddressCreated, PublicAddressesInfo, RecoverAccount, Recovery, RequestKind, ServerKind,
    ServerMessage, UnspentInfo,
};
use crate::chain::Chain;
use crate::chain::ledger::TxError;
use crate::chain::tx::Transaction;
use crate::crypto::{
    Hash, KdfParams, Keypair, Network, PublicKey, SealError, SecretKey, from_phrase, open_secret,
    seal_secret, to_phrase,
};
use crate::rng::Seed;
use crate::snowball::SnowballConfig;
use crate::storage::Store;

use account::{Account, Unsealed};
use records::{AccountRecord, HistoryRecord, Meta, OutputMeta};
use rng::WalletRng;

/// Most public addresses one account may have (`create_public_address`, and what
/// `recover_account` re-creates), so a request cannot make the node derive keys without end.
pub const PUBLIC_ADDRESSES_MAX: u32 = 10_000;
/// Most entries one `history_info` answer holds, whatever `limit` asks.
pub const HISTORY_LIMIT_MAX: u64 = 1_000;
/// Most accounts one wallet holds.
pub const ACCOUNTS_MAX: usize = 100_000;
/// Longest unknown `account_id` an error repeats, so a client cannot make the node echo a
/// megabyte back.
const ACCOUNT_ID_ECHO_CHARS_MAX: usize = 40;

/// The wallet's settings (a field of the node's configuration).
#[derive(Clone, PartialEq, Eq)]
pub struct WalletConfig {
    /// Argon2id cost of sealing an account's key under its password. The default is the real
    /// setting ([`KdfParams::default`], tens of milliseconds per unseal); simulations with many
    /// accounts use [`KdfParams::simulation`], which is insecure and fast.
    pub kdf: KdfParams,
    /// When set, a node starting on an empty store creates account "1" holding the
    /// genesis-funded key, sealed under this password (the dev chain's convention: `dev` on
    /// node 0). `None`: the wallet starts empty.
    pub genesis_account_password: Option<String>,
    /// Extra accounts a node starting on an empty store creates: `(i, password)` holds the
    /// key of `ChainConfig::genesis_accounts[i]` (genesis funds it), sealed under `password`.
    /// Created after the genesis account, in this order, so they get the next free numbers.
    pub genesis_accounts: Vec<(usize, String)>,
    /// The Snowball round's parameters (pool check interval, phase timeout, sizes).
    pub snowball: SnowballConfig,
}

impl std::fmt::Debug for WalletConfig {
    /// Says whether a genesis password is set, not what it is (configurations get logged).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletConfig")
            .field("kdf", &self.kdf)
            .field(
                "genesis_account_password",
                &self.genesis_account_password.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "genesis_accounts",
                &self
                    .genesis_accounts
                    .iter()
                    .map(|(i, _)| (*i, "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("snowball", &self.snowball)
            .finish()
    }
}

impl Default for WalletConfig {
    /// Real KDF parameters, no genesis account.
    fn default() -> Self {
        WalletConfig {
            kdf: KdfParams::default(),
            genesis_account_password: None,
            genesis_accounts: Vec::new(),
            snowball: SnowballConfig::default(),
        }
    }
}

/// What the node lends the wallet for one call.
#[derive(Debug)]
pub struct WalletCtx<'a> {
    /// The chain as the node sees it (already changed, in the chain hooks).
    pub chain: &'a Chain,
    /// Inputs claimed by transactions waiting in the mempool (input -> transaction).
    pub claimed: &'a BTreeMap<Hash, Hash>,
    /// The node's store.
    pub store: &'a mut dyn Store,
    /// The time transactions are checked at: the later of the node's clock and the tip's
    /// timestamp, as the mempool checks them.
    pub now_ns: u64,
    /// The node's network key when it validates (stakes go to it; restakes are signed by it).
    pub network_key: Option<&'a Keypair>,
    /// Notifications to broadcast (the node sends them after the reply, if any).
    pub notify: &'a mut Vec<ServerMessage>,
}

/// Why a wallet request failed: the code and text of the `error` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WalletError {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

fn err(code: ErrorCode, message: impl Into<String>) -> WalletError {
    WalletError {
        code,
        message: message.into(),
    }
}

fn sealed_error() -> WalletError {
    err(ErrorCode::AccountSealed, "Account is sealed")
}

/// A transaction the wallet built, for the node to submit.
#[derive(Debug, Clone)]
pub struct PendingTx {
    /// The account that made it.
    account: u32,
    /// The signed transaction.
    tx: Transaction,
    /// What the wallet knows of each output beyond the output itself.
    meta: Vec<OutputMeta>,
}

impl PendingTx {
    /// The transaction to submit.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }
}

/// What [`Wallet::handle_request`] decided.
#[derive(Debug)]
pub enum Handled {
    /// Answer with this now (its `id` is the node's to fill in).
    Reply(Result<ServerMessage, WalletError>),
    /// Submit this transaction, then call [`Wallet::finish_submit`] with the result.
    Submit(PendingTx),
}

/// The node's wallet. See the module documentation.
#[derive(Debug)]
pub struct Wallet {
    /// Settings.
    cfg: WalletConfig,
    /// The chain's address prefix.
    network: Network,
    /// Fresh keys, salts, r-values and nonces.
    rng: WalletRng,
    /// Stored counters.
    meta: Meta,
    /// Whether the store held no wallet state when the node started.
    first_start: bool,
    /// Accounts by number (`account_id` is the number as a string).
    accounts: BTreeMap<u32, Account>,
    /// Every key of every account (own and public addresses) -> account.
    by_key: BTreeMap<PublicKey, u32>,
    /// Every unspent output an account owns -> account.
    utxo_owner: BTreeMap<Hash, u32>,
    /// Outgoing transactions that can still change status -> account.
    outgoing: BTreeMap<Hash, u32>,
    /// Accounts with a Snowball round waiting or running -> the inputs held for it.
    snowball_rounds: BTreeMap<u32, Vec<Hash>>,
}

/// A message about account `id` (a reply, or a notification).
fn msg(id: u32, kind: ServerKind) -> ServerMessage {
    ServerMessage {
        id: 0,
        account_id: Some(id.to_string()),
        kind,
    }
}

/// A network key as the API shows it (hex, like the node requests do).
fn hex_key(k: &PublicKey) -> String {
    Hash(*k.as_bytes()).to_string()
}

fn check_password(password: &str) -> Result<(), WalletError> {
    if password.is_empty() {
        return Err(err(
            ErrorCode::InvalidField,
            "the password must not be empty",
        ));
    }
    Ok(())
}

impl Wallet {
    /// An empty wallet; [`Wallet::load`] fills it from the store.
    pub fn new(cfg: WalletConfig, seed: Seed, network: Network) -> Wallet {
        Wallet {
            cfg,
            network,
            rng: WalletRng::new(seed),
            meta: Meta::default(),
            first_start: true,
            accounts: BTreeMap::new(),
            by_key: BTreeMap::new(),
            utxo_owner: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            snowball_rounds: BTreeMap::new(),
        }
    }

    // ----- getters ------------------------------------------------------------------------

    /// The accounts' ids, in numeric order.
    pub fn account_ids(&self) -> Vec<String> {
        self.accounts.keys().map(u32::to_string).collect()
    }

    /// Whether account `id` exists and is unsealed.
    pub fn is_unsealed(&self, id: &str) -> bool {
        self.parse_id(Some(id))
            .ok()
            .and_then(|n| self.accounts.get(&n))
            .is_some_and(|a| a.unsealed.is_some())
    }

    /// The public key of account `id`, if it exists.
    pub fn account_pkey(&self, id: &str) -> Option<PublicKey> {
        let n = self.parse_id(Some(id)).ok()?;
        self.accounts.get(&n).map(|a| a.record.pkey)
    }

    // ----- start ----------------------------------------------------------------------------

    /// Loads accounts and history from the store and finds the accounts' outputs in the
    /// ledger (one scan). Every account starts sealed.
    pub fn load(&mut self, store: &mut dyn Store, chain: &Chain) -> Result<(), String> {
        let meta = store.get(records::META).map_err(|e| e.to_string())?;
        self.first_start = meta.is_none();
        if let Some(bytes) = meta {
            self.meta = records::decode("wallet meta", &bytes)?;
        }
        self.rng.seek(self.meta.rng_draws);
        for (k, v) in store
            .scan_prefix(records::ACCOUNT)
            .map_err(|e| e.to_string())?
        {
            let id = k
                .get(records::ACCOUNT.len()..)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .ok_or("a wallet account key is malformed")?;
            let record: AccountRecord = records::decode("wallet account", &v)?;
            let mut account = Account::new(record);
            for (hk, hv) in store
                .scan_prefix(&records::history_prefix(id))
                .map_err(|e| e.to_string())?
            {
                let at = records::history_at(&hk).ok_or("a wallet history key is malformed")?;
                account.index_history(at, records::decode("wallet history", &hv)?);
            }
            for tx in account.pending.keys() {
                self.outgoing.insert(*tx, id);
            }
            for key in account.keys() {
                self.by_key.insert(*key, id);
            }
            self.accounts.insert(id, account);
        }
        self.adopt_outputs(store, chain, None);
        Ok(())
    }

    /// Tracks every output in the ledger that belongs to an account (to account `only`, if
    /// given): one scan of the whole ledger.
    fn adopt_outputs(&mut self, store: &mut dyn Store, chain: &Chain, only: Option<u32>) {
        if self.accounts.is_empty() {
            return;
        }
        let owned: Vec<(Hash, u32)> = chain
            .ledger
            .iter()
            .filter_map(|(h, u)| self.by_key.get(u.output.owner()).map(|a| (*h, *a)))
            .filter(|(_, a)| only.is_none_or(|o| o == *a))
            .collect();
        for (h, id) in owned {
            self.add_utxo(store, chain, id, h);
        }
    }

    /// On a node's first start with a genesis password configured: creates account "1"
    /// holding `key` (the genesis-funded key), unsealed. Does nothing otherwise.
    pub fn create_genesis_account(
        &mut self,
        ctx: &mut WalletCtx,
        key: Keypair,
    ) -> Result<(), WalletError> {
        let Some(password) = self.cfg.genesis_account_password.clone() else {
            return Ok(());
        };
        if !self.first_start || !self.accounts.is_empty() {
            return Ok(());
        }
        let id = self.add_account(ctx, key, &password, 0)?;
        self.scan_ledger_for(ctx, id);
        self.sync(ctx)
    }

    /// On a node's first start: creates the accounts of [`WalletConfig::genesis_accounts`],
    /// each holding its genesis-funded key from `keys` (`ChainConfig::genesis_accounts`
    /// order), unsealed. Does nothing on a later start.
    pub fn create_genesis_accounts(
        &mut self,
        ctx: &mut WalletCtx,
        keys: &[Keypair],
    ) -> Result<(), WalletError> {
        if !self.first_start || self.cfg.genesis_accounts.is_empty() {
            return Ok(());
        }
        for (i, password) in self.cfg.genesis_accounts.clone() {
            let key = keys.get(i).ok_or_else(|| {
                err(
                    ErrorCode::InvalidField,
                    format!(
                        "genesis account {i} is not in the chain's genesis_accounts ({} of them)",
                        keys.len()
                    ),
                )
            })?;
            check_password(&password)?;
            let id = self.add_account(ctx, key.clone(), &password, 0)?;
            self.scan_ledger_for(ctx, id);
        }
        self.sync(ctx)
    }

    // ----- requests -------------------------------------------------------------------------

    /// A wallet request (`account_id` from the envelope). See [`Handled`].
    pub fn handle_request(
        &mut self,
        ctx: &mut WalletCtx,
        account_id: Option<&str>,
        kind: RequestKind,
    ) -> Handled {
        let answer = match kind {
            RequestKind::AccountsInfo => Ok(self.accounts_info(ctx)),
            RequestKind::CreateAccount(q) => self.create_account(ctx, &q.password),
            RequestKind::RecoverAccount(q) => self.recover_account(ctx, q),
            other => match self.parse_id(account_id) {
                Ok(id) => return self.account_request(ctx, id, other),
                Err(e) => Err(e),
            },
        };
        Handled::Reply(answer)
    }

    /// The account number `account_id` names, if that account exists.
    fn parse_id(&self, account_id: Option<&str>) -> Result<u32, WalletError> {
        let text = account_id.ok_or_else(|| {
            err(
                ErrorCode::AccountNotFound,
                "this request needs an \"account_id\"",
            )
        })?;
        let not_found = || {
            err(
                ErrorCode::AccountNotFound,
                format!(
                    "Unknown account_id {:?}",
                    text.chars()
                        .take(ACCOUNT_ID_ECHO_CHARS_MAX)
                        .collect::<String>()
                ),
            )
        };
        let id: u32 = text.parse().map_err(|_| not_found())?;
        if id.to_string() != text || !self.accounts.contains_key(&id) {
            return Err(not_found());
        }
        Ok(id)
    }

    fn account_request(&mut self, ctx: &mut WalletCtx, id: u32, kind: RequestKind) -> Handled {
        let sealed = self.accounts[&id].unsealed.is_none();
        let works_sealed = matches!(
            kind,
            RequestKind::Unseal(_)
                | RequestKind::AccountInfo
                | RequestKind::RestakeAll
                | RequestKind::DeleteAccount
        );
        if sealed && !works_sealed {
            let e = if matches!(kind, RequestKind::Seal) {
                err(ErrorCode::AlreadySealed, "Account is sealed")
            } else {
                sealed_error()
            };
            return Handled::Reply(Err(e));
        }
        let built = match kind {
            RequestKind::Payment(p) => self.payment(ctx, id, &p, false),
            RequestKind::PublicPayment(p) => self.payment(ctx, id, &p, true),
            RequestKind::CloakAll(q) => self.cloak_all(ctx, id, q.payment_fee),
            RequestKind::Stake(q) => self.stake(ctx, id, q.amount, q.payment_fee),
            RequestKind::Unstake(q) => self.unstake(ctx, id, Some(q.amount), q.payment_fee),
            RequestKind::UnstakeAll(q) => {
                let fee = q.payment_fee.unwrap_or(self.stake_fee_floor(ctx));
                self.unstake(ctx, id, None, fee)
            }
            RequestKind::RestakeAll => self.restake_all(ctx, id),
            other => return Handled::Reply(self.account_query(ctx, id, other)),
        };
        match built {
            Ok(p) => Handled::Submit(p),
            Err(e) => Handled::Reply(Err(e)),
        }
    }

    /// Requests about one account that make no transaction.
    fn account_query(
        &mut self,
        ctx: &mut WalletCtx,
        id: u32,
        kind: RequestKind,
    ) -> Result<ServerMessage, WalletError> {
        let network = self.network;
        let kind = match kind {
            RequestKind::DeleteAccount => {
                self.delete_account(ctx, id)?;
                ServerKind::AccountDeleted
            }
            RequestKind::Seal => {
                let account = self.account_mut(id);
                account.unsealed = None;
                account.last_balance = None;
                ServerKind::Sealed
            }
            RequestKind::Unseal(q) => {
                self.unseal(ctx, id, &q.password)?;
                ServerKind::Unsealed
            }
            RequestKind::ChangePassword(q) => {
                check_password(&q.new_password)?;
                let salt = self.rng.bytes16();
                let nonce = self.rng.bytes12();
                let kdf = self.cfg.kdf;
                let account = self.account_mut(id);
                let keys = account.unsealed.as_ref().ok_or_else(sealed_error)?;
                account.record.sealed =
                    seal_secret(keys.key.secret(), &q.new_password, salt, nonce, kdf)
                        .map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
                self.save_account(ctx.store, id);
                self.sync(ctx)?;
                ServerKind::PasswordChanged
            }
            RequestKind::AccountInfo => ServerKind::AccountInfo(self.account_keys(ctx, id)),
            RequestKind::BalanceInfo => ServerKind::BalanceInfo(self.balance(ctx, id)),
            RequestKind::UnspentInfo => ServerKind::UnspentInfo(self.unspent(ctx, id)),
            RequestKind::RecoveryInfo => {
                let account = &self.accounts[&id];
                let keys = account.unsealed.as_ref().ok_or_else(sealed_error)?;
                ServerKind::Recovery(Recovery {
                    recovery: to_phrase(&keys.key.secret().to_bytes()),
                    last_public_address_id: Some(account.record.public_addresses.len() as u32),
                })
            }
            RequestKind::CreatePublicAddress => {
                let account = self.account_mut(id);
                let n = account.record.public_addresses.len() as u32 + 1;
                if n > PUBLIC_ADDRESSES_MAX {
                    return Err(err(
                        ErrorCode::InvalidField,
                        format!("an account has at most {PUBLIC_ADDRESSES_MAX} public addresses"),
                    ));
                }
                let keys = account.unsealed.as_mut().ok_or_else(sealed_error)?;
                let derived = keys.key.derive(n);
                let pkey = *derived.public();
                keys.addresses.push(derived);
                account.record.public_addresses.push(pkey);
                self.save_account(ctx.store, id);
                self.by_key.insert(pkey, id);
                self.sync(ctx)?;
                ServerKind::PublicAddressCreated(PublicAddressCreated {
                    public_address: pkey.to_bech32(network),
                    public_address_id: n,
                })
            }
            RequestKind::PublicAddressesInfo => {
                let account = &self.accounts[&id];
                ServerKind::PublicAddressesInfo(PublicAddressesInfo {
                    public_addresses: account
                        .record
                        .public_addresses
                        .iter()
                        .enumerate()
                        .map(|(i, k)| {
                            (
                                i as u32 + 1,
                                PublicAddress {
                                    address: k.to_bech32(network),
                                },
                            )
                        })
                        .collect(),
                })
            }
            RequestKind::HistoryInfo(q) => ServerKind::HistoryInfo(self.history(id, &q)),
            RequestKind::SecurePayment(_) => {
                // The node runs Snowball rounds and never passes this request here.
                return Err(err(
                    ErrorCode::Internal,
                    "`secure_payment` is run by the node, not by the wallet alone",
                ));
            }
            other => {
                return Err(err(
                    ErrorCode::Internal,
                    format!("`{}` is not a wallet request", other.type_name()),
                ));
            }
        };
        Ok(msg(id, kind))
    }

    fn account_mut(&mut self, id: u32) -> &mut Account {
        self.accounts
            .get_mut(&id)
            .expect("callers pass ids that parse_id checked")
    }

    fn accounts_info(&self, ctx: &WalletCtx) -> ServerMessage {
        let accounts = self
            .accounts
            .keys()
            .map(|id| (id.to_string(), self.account_keys(ctx, *id)))
            .collect();
        ServerMessage::new(ServerKind::AccountsInfo(AccountsInfo { accounts }))
    }

    fn account_keys(&self, ctx: &WalletCtx, id: u32) -> AccountKeys {
        AccountKeys {
            account_pkey: self.accounts[&id].record.pkey.to_bech32(self.network),
            network_pkey: ctx.network_key.map(|k| hex_key(k.public())),
        }
    }

    fn create_account(
        &mut self,
        ctx: &mut WalletCtx,
        password: &str,
    ) -> Result<ServerMessage, WalletError> {
        check_password(password)?;
        let key = Keypair::from_seed(self.rng.bytes32());
        let id = self.add_account(ctx, key, password, 0)?;
        self.sync(ctx)?;
        Ok(msg(id, ServerKind::AccountCreated))
    }

    fn recover_account(
        &mut self,
        ctx: &mut WalletCtx,
        q: RecoverAccount,
    ) -> Result<ServerMessage, WalletError> {
        let password = q.password.ok_or_else(|| {
            err(
                ErrorCode::MissingField,
                "\"recover_account\": missing field \"password\" (the recovered account is \
                 sealed under it)",
            )
        })?;
        check_password(&password)?;
        let addresses = q.last_public_address_id.unwrap_or(0);
        if addresses > PUBLIC_ADDRESSES_MAX {
            return Err(err(
                ErrorCode::InvalidField,
                format!("last_public_address_id must be at most {PUBLIC_ADDRESSES_MAX}"),
            ));
        }
        let bytes =
            from_phrase(&q.recovery).map_err(|e| err(ErrorCode::InvalidRecovery, e.to_string()))?;
        let secret = SecretKey::from_bytes(bytes).map_err(|e| {
            err(
                ErrorCode::InvalidRecovery,
                format!("the phrase does not hold a valid secret key: {e}"),
            )
        })?;
        let id = self.add_account(ctx, Keypair::from_secret(secret), &password, addresses)?;
        self.scan_ledger_for(ctx, id);
        self.sync(ctx)?;
        Ok(msg(id, ServerKind::AccountCreated))
    }

    /// Adds an unsealed account holding `key` with `addresses` public addresses under the
    /// smallest unused number; writes it (the caller syncs).
    fn add_account(
        &mut self,
        ctx: &mut WalletCtx,
        key: Keypair,
        password: &str,
        addresses: u32,
    ) -> Result<u32, WalletError> {
        if self.accounts.len() >= ACCOUNTS_MAX {
            return Err(err(
                ErrorCode::InvalidField,
                format!("the wallet holds its maximum of {ACCOUNTS_MAX} accounts"),
            ));
        }
        if let Some(other) = self.by_key.get(key.public()) {
            return Err(err(
                ErrorCode::InvalidRecovery,
                format!("account {other} already holds this key"),
            ));
        }
        let sealed = seal_secret(
            key.secret(),
            password,
            self.rng.bytes16(),
            self.rng.bytes12(),
            self.cfg.kdf,
        )
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
        let keys = Unsealed::new(key, addresses as usize);
        let record = AccountRecord {
            pkey: *keys.key.public(),
            sealed,
            public_addresses: keys.addresses.iter().map(|k| *k.public()).collect(),
        };
        let id = (1..=u32::MAX)
            .find(|n| !self.accounts.contains_key(n))
            .expect("fewer than ACCOUNTS_MAX accounts leave a free number");
        let mut account = Account::new(record);
        for k in account.keys() {
            self.by_key.insert(*k, id);
        }
        account.unsealed = Some(keys);
        self.accounts.insert(id, account);
        self.save_account(ctx.store, id);
        Ok(id)
    }

    /// Finds an account's outputs in the whole ledger (for an account that may already own
    /// some: the genesis account, a recovered one).
    fn scan_ledger_for(&mut self, ctx: &mut WalletCtx, id: u32) {
        self.adopt_outputs(ctx.store, ctx.chain, Some(id));
        let balance = self.balance(ctx, id);
        self.account_mut(id).last_balance = Some(balance);
    }

    /// Moves an account aside (record and history under a trash slot) and forgets it.
    fn delete_account(&mut self, ctx: &mut WalletCtx, id: u32) -> Result<(), WalletError> {
        let account = self
            .accounts
            .remove(&id)
            .expect("callers pass ids that parse_id checked");
        let trash = records::trash_prefix(self.meta.trash_seq);
        self.meta.trash_seq += 1;
        let mut account_trash = trash.clone();
        account_trash.extend_from_slice(b"account");
        ctx.store
            .put(&account_trash, &records::encode(&account.record));
        ctx.store.delete(&records::account_key(id));
        for (at, record) in &account.history {
            let key = records::history_key(id, *at);
            let mut moved = trash.clone();
            moved.extend_from_slice(&key);
            ctx.store.put(&moved, &records::encode(record));
            ctx.store.delete(&key);
        }
        for k in account.keys() {
            self.by_key.remove(k);
        }
        for h in account.utxos.keys() {
            self.utxo_owner.remove(h);
        }
        for h in account.pending.keys() {
            self.outgoing.remove(h);
        }
        self.sync(ctx)
    }

    fn unseal(&mut self, ctx: &WalletCtx, id: u32, password: &str) -> Result<(), WalletError> {
        let account = &self.accounts[&id];
        if account.unsealed.is_some() {
            return Err(err(ErrorCode::AlreadyUnsealed, "Already unsealed"));
        }
        let secret = open_secret(&account.record.sealed, password).map_err(|e| match e {
            SealError::InvalidPassword => err(ErrorCode::InvalidPassword, "Invalid password"),
            other => err(ErrorCode::Internal, other.to_string()),
        })?;
        let key = Keypair::from_secret(secret);
        if *key.public() != account.record.pkey {
            return Err(err(
                ErrorCode::Internal,
                "the stored key does not match the account's public key",
            ));
        }
        let keys = Unsealed::new(key, account.record.public_addresses.len());
        let balance = self.balance(ctx, id);
        let account = self.account_mut(id);
        account.unsealed = Some(keys);
        account.last_balance = Some(balance);
        Ok(())
    }

    fn unspent(&mut self, ctx: &WalletCtx, id: u32) -> UnspentInfo {
        let mut info = UnspentInfo {
            public_payments: Vec::new(),
            payments: Vec::new(),
            stakes: Vec::new(),
        };
        let epoch = ctx.chain.epoch();
        let utxos: Vec<Hash> = self.accounts[&id].utxos.keys().copied().collect();
        for h in utxos {
            let Some(u) = ctx.chain.ledger.get(&h) else {
                continue;
            };
            match self.utxo_notice(epoch, id, &h, &u.output, true) {
                ServerKind::Received(p) => info.payments.push(p),
                ServerKind::ReceivedPublic(p) => info.public_payments.push(p),
                ServerKind::Staked(s) => info.stakes.push(s),
                _ => {}
            }
        }
        info
    }

    fn history(&mut self, id: u32, q: &HistoryQuery) -> HistoryInfo {
        let network = self.network;
        let limit = q.limit.min(HISTORY_LIMIT_MAX) as usize;
        let account = self.account_mut(id);
        let entries: Vec<(records::HistoryAt, HistoryRecord)> = account
            .history
            .range((q.starting_from.unix_nanos(), 0)..)
            .take(limit)
            .map(|(at, r)| (*at, r.clone()))
            .collect();
        let log = entries
            .into_iter()
            .map(|(at, r)| track::log_entry(account, network, at, r))
            .collect();
        HistoryInfo { log }
    }

    // ----- storage ------------------------------------------------------------------------

    /// Writes account `id`'s record (durable at the next sync).
    fn save_account(&self, store: &mut dyn Store, id: u32) {
        store.put(
            &records::account_key(id),
            &records::encode(&self.accounts[&id].record),
        );
    }

    fn put_meta(&mut self, store: &mut dyn Store) {
        self.meta.rng_draws = self.rng.draws();
        store.put(records::META, &records::encode(&self.meta));
    }

    fn sync(&mut self, ctx: &mut WalletCtx) -> Result<(), WalletError> {
        self.put_meta(ctx.store);
        ctx.store
            .sync()
            .map_err(|e| err(ErrorCode::Internal, e.to_string()))
    }

    fn next_history_seq(&mut self) -> u64 {
        let s = self.meta.history_seq;
        self.meta.history_seq += 1;
        s
    }
}

/// The error reply for a transaction the node's mempool refused.
fn tx_refused(e: &TxError) -> WalletError {
    let code = match e {
        TxError::FeeTooLow { .. } => ErrorCode::FeeTooLow,
        TxError::BadAmount(_) | TxError::StakeTooSmall { .. } | TxError::BadStakeEpoch { .. } => {
            ErrorCode::InvalidAmount
        }
        TxError::MempoolFull(_) => ErrorCode::TooManyRequests,
        _ => ErrorCode::Internal,
    };
    err(code, format!("the node refused the transaction: {e}"))
}
