//! Requests: what a client sends ([`RequestKind`] and the bodies of its variants).

use serde::{Deserialize, Serialize};

use super::envelope::message_kinds;
use super::timestamp::Timestamp;

message_kinds! {
    /// Every request of the API, one variant per `type` (PROTOCOL.md, "Wallet requests" and
    /// "Node requests"). Wallet requests about one account name it in the envelope's
    /// `account_id`, not in the body.
    pub enum RequestKind / RequestTag {
        /// List the wallet's accounts. Alias `list_accounts`.
        AccountsInfo = "accounts_info" | "list_accounts",
        /// Create a new account, unsealed.
        CreateAccount(CreateAccount) = "create_account",
        /// Re-create an account from its 24-word recovery phrase.
        RecoverAccount(RecoverAccount) = "recover_account",
        /// Delete the account named by `account_id` (sealed or not).
        DeleteAccount = "delete_account",
        /// Forget the account's secret key until the next `unseal`.
        Seal = "seal",
        /// Load the account's secret key.
        Unseal(Unseal) = "unseal",
        /// Re-encrypt the account under a new password.
        ChangePassword(ChangePassword) = "change_password",
        /// The account's public keys.
        AccountInfo = "account_info",
        /// The account's balances.
        BalanceInfo = "balance_info",
        /// The account's unspent outputs.
        UnspentInfo = "unspent_info",
        /// The account's recovery phrase. Alias `get_recovery`.
        RecoveryInfo = "recovery_info" | "get_recovery",
        /// Derive the account's next virtual public address.
        CreatePublicAddress = "create_public_address",
        /// The account's virtual public addresses.
        PublicAddressesInfo = "public_addresses_info",
        /// The account's payment history from a point in time.
        HistoryInfo(HistoryQuery) = "history_info",
        /// A cloaked payment without Snowball.
        Payment(Payment) = "payment",
        /// A cloaked payment mixed through Snowball (the recommended kind).
        SecurePayment(Payment) = "secure_payment",
        /// An uncloaked (public) payment.
        PublicPayment(Payment) = "public_payment",
        /// Turn every public output of the account into cloaked ones.
        CloakAll(CloakAll) = "cloak_all",
        /// Move money into the escrow to validate.
        Stake(StakeAmount) = "stake",
        /// Take money out of the escrow.
        Unstake(StakeAmount) = "unstake",
        /// Take every stake out of the escrow.
        UnstakeAll(UnstakeAll) = "unstake_all",
        /// Re-stake expiring stakes now instead of waiting for automatic restaking.
        RestakeAll = "restake_all",
        /// The node's synchronisation and chain position.
        StatusInfo = "status_info",
        /// Status now, then `status_changed` notifications.
        SubscribeStatus = "subscribe_status",
        /// One macro block (past epochs only).
        MacroBlockInfo(MacroBlockQuery) = "macro_block_info",
        /// One micro block (current epoch only).
        MicroBlockInfo(ChainPosition) = "micro_block_info",
        /// Replay the chain from a position, then follow it live.
        SubscribeChain(ChainPosition) = "subscribe_chain",
        /// Revert the last micro block (debug).
        PopMicroBlock = "pop_micro_block",
        /// The stakes in the escrow, per validator.
        EscrowInfo = "escrow_info",
        /// The current election: leaders and slots.
        ElectionInfo = "election_info",
        /// Turn automatic restaking on.
        EnableRestaking = "enable_restaking",
        /// Turn automatic restaking off.
        DisableRestaking = "disable_restaking",
        /// Check a payment certificate (needs no account).
        ValidateCertificate(ValidateCertificate) = "validate_certificate",
        /// The chain's name (which network this node is on).
        ChainName = "chain_name",
    }
}

/// Body of `create_account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccount {
    /// Seeds the key that encrypts the account's secrets at rest.
    pub password: String,
}

/// Body of `recover_account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverAccount {
    /// The 24-word phrase encoding the secret key.
    pub recovery: String,
    /// The new account's password. Optional here because the seed document's sample omits
    /// it; the node decides what a missing password means (it refuses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Re-create virtual public addresses up to this id (they are deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_public_address_id: Option<u32>,
}

/// Body of `unseal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unseal {
    /// The account's password.
    pub password: String,
}

/// Body of `change_password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassword {
    /// The password to re-encrypt under.
    pub new_password: String,
}

/// Body of `history_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Entries at or after this time.
    pub starting_from: Timestamp,
    /// At most this many entries.
    pub limit: u64,
}

/// Body of `payment`, `secure_payment` and `public_payment` (the `type` says which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The recipient's address (bech32; the node validates it).
    pub recipient: String,
    /// µSTG to send.
    pub amount: i64,
    /// µSTG of fee per created output.
    pub payment_fee: i64,
    /// A note for the recipient (up to 880 characters; the node checks). Defaults to empty.
    #[serde(default)]
    pub comment: String,
    /// Lock the created outputs until then; `null` (kept on output) for no lock.
    #[serde(default)]
    pub locked_timestamp: Option<Timestamp>,
    /// Keep the output's `rvalue` so the payment can be proven later. Defaults to false.
    #[serde(default)]
    pub with_certificate: bool,
}

/// Body of `cloak_all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloakAll {
    /// µSTG of fee per created output.
    pub payment_fee: i64,
}

/// Body of `stake` and `unstake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeAmount {
    /// µSTG to move into or out of the escrow.
    pub amount: i64,
    /// µSTG of fee per created output.
    pub payment_fee: i64,
}

/// Body of `unstake_all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnstakeAll {
    /// µSTG of fee per created output; absent in the seed's sample, so the node's default
    /// applies then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_fee: Option<i64>,
}

/// Body of `macro_block_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroBlockQuery {
    /// The epoch whose macro block is wanted.
    pub epoch: u64,
}

/// Body of `micro_block_info` and `subscribe_chain`: a position in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPosition {
    /// The epoch.
    pub epoch: u64,
    /// The micro block's offset inside the epoch.
    pub offset: u32,
}

/// Body of `validate_certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateCertificate {
    /// The output's hash. Alias `output_hash` (PROTOCOL.md, "Addresses").
    #[serde(alias = "output_hash")]
    pub utxo: String,
    /// The paying account's address.
    pub spender: String,
    /// The paid account's address.
    pub recipient: String,
    /// The output's encryption key, kept by a payment made `with_certificate`.
    pub rvalue: String,
}
