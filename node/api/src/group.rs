//! API groups: the unit of permission of access keys (`seeds/api-access-and-restrictions.txt`).
//! Which group a request belongs to is a fact of the API, so clients (the load generator)
//! and the server share this one table.

use serde::{Deserialize, Serialize};

use crate::message::RequestKind;

/// An API group: the unit of permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Read-only node requests: status, chain, blocks, escrow, election, certificates,
    /// subscriptions, chain name.
    Node,
    /// Every account request.
    Wallet,
    /// Node settings: `enable_restaking`, `disable_restaking`.
    Admin,
    /// Debugging: `pop_micro_block`.
    Debug,
    /// Peer-network requests (none in this API yet; reserved as in the seed).
    Network,
}

impl Group {
    /// Every group.
    pub const ALL: [Group; 5] = [
        Group::Node,
        Group::Wallet,
        Group::Admin,
        Group::Debug,
        Group::Network,
    ];

    /// The group's name in access files.
    pub fn name(self) -> &'static str {
        match self {
            Group::Node => "node",
            Group::Wallet => "wallet",
            Group::Admin => "admin",
            Group::Debug => "debug",
            Group::Network => "network",
        }
    }

    /// The group a request belongs to.
    pub fn of(kind: &RequestKind) -> Group {
        match kind {
            RequestKind::StatusInfo
            | RequestKind::SubscribeStatus
            | RequestKind::MacroBlockInfo(_)
            | RequestKind::MicroBlockInfo(_)
            | RequestKind::SubscribeChain(_)
            | RequestKind::EscrowInfo
            | RequestKind::ElectionInfo
            | RequestKind::ValidateCertificate(_)
            | RequestKind::ChainName => Group::Node,
            RequestKind::EnableRestaking | RequestKind::DisableRestaking => Group::Admin,
            RequestKind::PopMicroBlock => Group::Debug,
            _ => Group::Wallet,
        }
    }
}
