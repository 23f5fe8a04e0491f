//! The node's side of the WebSocket API: requests in, responses and notifications out.
//!
//! [`Node::handle_request`] takes a decoded request from connection `conn` and answers with
//! [`Output::Reply`] (to that connection) now or later; subscriptions (`subscribe_status`,
//! `subscribe_chain`) make the node send notifications to the subscribed connections as
//! blocks come and go. The driver tells the node when a connection closes
//! ([`Node::connection_closed`]) so that it forgets its subscriptions.
//!
//! Node requests are answered here; wallet requests go to the wallet (`crate::wallet`, through
//! the node's `wallet` module), which answers them itself.
//!
//! Conversions to API bodies: hashes are lower hex, network keys are hex (as the seed shows
//! them), account keys and addresses are bech32 with the chain's prefix, timestamps RFC 3339.

use super::{ConnId, Node, Output};
use crate::api::message::{
    self as api, CertificateValid, ChainName, ElectionInfo, ErrorCode, EscrowInfo, EscrowStake,
    EscrowValidator, NodeStatus, Request, RequestKind, ServerKind, ServerMessage, SubscribedChain,
    Timestamp, TxSummary,
};
use crate::chain::block::{MacroBlock, MicroBlock};
use crate::chain::tx::{Output as TxOutput, PaymentPayload};
use crate::crypto::{Hash, Network, PublicKey, Rvalue};

/// Version number of block bodies in the API.
pub const BLOCK_VERSION: u64 = 1;

/// A network key as the API shows it: lower hex, like a hash.
fn hex_key(k: &PublicKey) -> String {
    Hash(*k.as_bytes()).to_string()
}

/// The API body of a micro block.
pub fn micro_block_body(b: &MicroBlock) -> api::MicroBlock {
    api::MicroBlock {
        block_hash: Some(b.hash().to_string()),
        version: BLOCK_VERSION,
        previous: Some(b.previous.to_string()),
        epoch: b.epoch,
        offset: b.offset,
        view_change: Some(b.view_change),
        pkey: Some(hex_key(&b.leader)),
        timestamp: Some(Timestamp::from_unix_nanos(b.timestamp_ns)),
        transactions: Some(
            b.transactions
                .iter()
                .map(|t| TxSummary {
                    tx_hash: t.hash().to_string(),
                    inputs: t.inputs.iter().map(Hash::to_string).collect(),
                    outputs: t.outputs.iter().map(|o| o.hash().to_string()).collect(),
                    fee: t.fee,
                })
                .collect(),
        ),
    }
}

/// The API body of a macro block; each validator of the next epoch is listed with the slots
/// the block's randomness gives it.
pub fn macro_block_body(b: &MacroBlock, slots_count: u32) -> api::MacroBlock {
    let election =
        crate::chain::election::Election::new(b.validators.clone(), &b.random, slots_count);
    api::MacroBlock {
        block_hash: Some(b.hash().to_string()),
        version: BLOCK_VERSION,
        previous: Some(b.previous.to_string()),
        epoch: b.epoch,
        view_change: Some(b.view_change),
        pkey: Some(hex_key(&b.proposer)),
        timestamp: Some(Timestamp::from_unix_nanos(b.timestamp_ns)),
        inputs: Some(b.inputs.iter().map(Hash::to_string).collect()),
        outputs: Some(b.outputs.iter().map(|o| o.hash().to_string()).collect()),
        validators: Some(
            b.validators
                .iter()
                .map(|v| api::BlockValidator {
                    network_pkey: hex_key(&v.network_pkey),
                    slots: election.as_ref().map_or(0, |e| e.slots_of(&v.network_pkey)) as u64,
                })
                .collect(),
        ),
    }
}

impl Node {
    /// The chain's bech32 network (address prefix).
    pub fn network(&self) -> Network {
        Network::from_prefix(&self.chain().cfg.address_prefix).unwrap_or(Network::Dev)
    }

    /// The body of `status_info`, `subscribed_status` and `status_changed`.
    pub fn status(&self) -> NodeStatus {
        let c = self.chain();
        NodeStatus {
            is_synchronized: self.is_synchronized(),
            epoch: c.epoch(),
            offset: c.offset(),
            view_change: self.view_change(),
            last_block_hash: c.tip_hash().to_string(),
            last_macro_block_hash: c.last_macro().hash().to_string(),
            last_macro_block_timestamp: Timestamp::from_unix_nanos(c.last_macro().timestamp_ns),
            local_timestamp: Timestamp::from_unix_nanos(self.now_ns()),
        }
    }

    /// A request from API connection `conn`, decoded. The answer comes out of
    /// [`Node::poll_output`] as [`Output::Reply`] to `conn` (now, or later for requests that
    /// wait on the network).
    pub fn handle_request(&mut self, now_ns: u64, conn: ConnId, req: Request) {
        self.set_now(now_ns);
        self.dispatch_request(now_ns, conn, req);
        self.rearm_timers();
    }

    /// Answers a node request; `subscribe_chain` answers with a replay, and wallet requests
    /// go to the wallet.
    fn dispatch_request(&mut self, now_ns: u64, conn: ConnId, req: Request) {
        let id = req.id;
        let reply = |kind: ServerKind| ServerMessage {
            id,
            account_id: None,
            kind,
        };
        let answer: Result<ServerMessage, (ErrorCode, String)> = match req.kind {
            RequestKind::StatusInfo => Ok(reply(ServerKind::StatusInfo(self.status()))),
            RequestKind::SubscribeStatus => {
                self.status_subs.insert(conn);
                Ok(reply(ServerKind::SubscribedStatus(self.status())))
            }
            RequestKind::ChainName => Ok(reply(ServerKind::ChainName(ChainName {
                name: self.chain().cfg.name.clone(),
            }))),
            RequestKind::MacroBlockInfo(q) => self.macro_block_info(q.epoch).map(reply),
            RequestKind::MicroBlockInfo(q) => self.micro_block_info(q.epoch, q.offset).map(reply),
            RequestKind::SubscribeChain(from) => {
                let first = reply(ServerKind::SubscribedChain(SubscribedChain {
                    current_epoch: self.chain().epoch(),
                    current_offset: self.chain().offset(),
                }));
                self.push_reply(conn, first);
                self.subscribe_chain(conn, from.epoch, from.offset);
                return;
            }
            RequestKind::PopMicroBlock => match self.pop_micro_block(now_ns) {
                Ok(_) => Ok(reply(ServerKind::MicroBlockPopped)),
                Err(e) => Err((ErrorCode::NothingToPop, e.to_string())),
            },
            RequestKind::EscrowInfo => Ok(reply(ServerKind::EscrowInfo(self.escrow()))),
            RequestKind::ElectionInfo => Ok(reply(ServerKind::ElectionInfo(self.election_info()))),
            RequestKind::EnableRestaking => self.switch_restaking(true).map(reply),
            RequestKind::DisableRestaking => self.switch_restaking(false).map(reply),
            RequestKind::ValidateCertificate(q) => self
                .validate_certificate(&q)
                .map(|v| reply(ServerKind::CertificateValid(v))),
            other => return self.wallet_request(conn, id, req.account_id, other),
        };
        let msg = match answer {
            Ok(mut m) => {
                m.account_id = req.account_id;
                m
            }
            Err((code, text)) => {
                let mut m = ServerMessage::error(id, code, text);
                m.account_id = req.account_id;
                m
            }
        };
        self.push_reply(conn, msg);
    }

    /// `macro_block_info`: final epochs only.
    fn macro_block_info(&self, epoch: u64) -> Result<ServerKind, (ErrorCode, String)> {
        let c = self.chain();
        if epoch < c.epoch() {
            Ok(ServerKind::MacroBlockInfo(macro_block_body(
                &c.macros[epoch as usize],
                c.cfg.slots_count,
            )))
        } else {
            Err((
                ErrorCode::NotFound,
                format!(
                    "no macro block for epoch {}: the current epoch is {} and not final yet",
                    epoch,
                    c.epoch()
                ),
            ))
        }
    }

    /// `micro_block_info`: the current epoch's micro blocks only (the others are final).
    fn micro_block_info(&self, epoch: u64, offset: u32) -> Result<ServerKind, (ErrorCode, String)> {
        let c = self.chain();
        if epoch != c.epoch() {
            Err((
                ErrorCode::NotFound,
                format!(
                    "micro blocks are kept for the current epoch {} only, not {}",
                    c.epoch(),
                    epoch
                ),
            ))
        } else if let Some(b) = c.micros.get(offset as usize) {
            Ok(ServerKind::MicroBlockInfo(micro_block_body(b)))
        } else {
            Err((
                ErrorCode::NotFound,
                format!(
                    "no micro block at offset {} of epoch {}: the epoch has {}",
                    offset,
                    epoch,
                    c.offset()
                ),
            ))
        }
    }

    /// `subscribe_chain` from (`epoch`, `offset`): replays final epochs as macro blocks, then
    /// the current epoch's micro blocks from the offset (from 0 when the start is an earlier
    /// epoch), and subscribes `conn` to what comes next.
    fn subscribe_chain(&mut self, conn: ConnId, epoch: u64, offset: u32) {
        let c = self.chain();
        let mut replay = Vec::new();
        for m in c.macros.iter().skip(epoch as usize) {
            replay.push(ServerMessage::new(ServerKind::MacroBlockCommitted(
                macro_block_body(m, c.cfg.slots_count),
            )));
        }
        let start = if epoch == c.epoch() {
            offset as usize
        } else {
            0
        };
        if epoch <= c.epoch() {
            for b in c.micros.iter().skip(start) {
                replay.push(ServerMessage::new(ServerKind::MicroBlockPrepared(
                    micro_block_body(b),
                )));
            }
        }
        for m in replay {
            self.push_reply(conn, m);
        }
        self.chain_subs.insert(conn);
    }

    /// `election_info`: the current and the next view's leaders.
    fn election_info(&self) -> ElectionInfo {
        let c = self.chain();
        let view = self.view_change();
        ElectionInfo {
            epoch: c.epoch(),
            offset: c.offset(),
            view_change: view,
            slots_count: c.election.slots_count() as u64,
            current_leader: hex_key(&c.leader_at(view)),
            next_leader: Some(hex_key(&c.leader_at(view + 1))),
        }
    }

    /// `enable_restaking` / `disable_restaking`: an error when the setting is already so.
    fn switch_restaking(&mut self, enabled: bool) -> Result<ServerKind, (ErrorCode, String)> {
        if self.set_restaking(enabled) == enabled {
            let state = if enabled { "enabled" } else { "disabled" };
            return Err((
                ErrorCode::RestakingUnchanged,
                format!("restaking is already {state}"),
            ));
        }
        Ok(if enabled {
            ServerKind::RestakingEnabled
        } else {
            ServerKind::RestakingDisabled
        })
    }

    /// The escrow: every stake, grouped by validator.
    pub fn escrow(&self) -> EscrowInfo {
        let c = self.chain();
        let epoch = c.epoch();
        let network = self.network();
        let validators = c
            .ledger
            .stakes()
            .into_iter()
            .map(|(validator, stakes)| {
                let mut v = EscrowValidator {
                    network_pkey: hex_key(&validator),
                    active_stake: 0,
                    expired_stake: 0,
                    stakes: Vec::new(),
                };
                for (h, u) in stakes {
                    if let TxOutput::Stake(s) = &u.output {
                        let is_active = s.active_until_epoch >= epoch;
                        if is_active {
                            v.active_stake += s.amount;
                        } else {
                            v.expired_stake += s.amount;
                        }
                        v.stakes.push(EscrowStake {
                            utxo: h.to_string(),
                            account_pkey: s.owner.to_bech32(network),
                            active_until_epoch: s.active_until_epoch,
                            is_active,
                            amount: s.amount,
                        });
                    }
                }
                v
            })
            .collect();
        EscrowInfo { validators }
    }

    /// `validate_certificate`: decrypts a payment output's payload with the r-value the payer
    /// kept and checks recipient and spender.
    fn validate_certificate(
        &self,
        q: &api::ValidateCertificate,
    ) -> Result<CertificateValid, (ErrorCode, String)> {
        let bad = |what: String| (ErrorCode::InvalidCertificate, what);
        let utxo: Hash = q
            .utxo
            .parse()
            .map_err(|e| (ErrorCode::InvalidField, format!("utxo: {e}")))?;
        let network = self.network();
        let spender = PublicKey::from_bech32(&q.spender, network)
            .map_err(|e| (ErrorCode::InvalidField, format!("spender: {e}")))?;
        let recipient = PublicKey::from_bech32(&q.recipient, network)
            .map_err(|e| (ErrorCode::InvalidField, format!("recipient: {e}")))?;
        let rvalue: Rvalue = q
            .rvalue
            .parse()
            .map_err(|e| (ErrorCode::InvalidField, format!("rvalue: {e}")))?;
        let record = self.chain().ledger.get(&utxo).ok_or_else(|| {
            (
                ErrorCode::NotFound,
                format!("output {utxo} is not an unspent output"),
            )
        })?;
        let TxOutput::Payment(p) = &record.output else {
            return Err(bad(format!("output {utxo} is not a payment")));
        };
        if p.recipient != recipient {
            return Err(bad("the output does not pay that recipient".into()));
        }
        let plaintext = crate::crypto::decrypt_payload_with_rvalue(&rvalue, &recipient, &p.payload)
            .map_err(|e| bad(format!("the r-value does not open the output: {e}")))?;
        let payload = PaymentPayload::from_bytes(&plaintext)
            .ok_or_else(|| bad("the output's payload is malformed".into()))?;
        if payload.spender != Some(spender) {
            return Err(bad("the output was not paid by that spender".into()));
        }
        Ok(CertificateValid {
            epoch: record.epoch,
            block_hash: record.block_hash.to_string(),
            is_final: record.offset.is_none(),
            timestamp: Timestamp::from_unix_nanos(record.timestamp_ns),
            amount: payload.amount,
        })
    }

    /// An answer or notification for connection `conn`.
    fn push_reply(&mut self, conn: ConnId, msg: ServerMessage) {
        self.outputs.push_back(Output::Reply { conn, msg });
    }

    /// An API connection closed: forget its subscriptions.
    pub fn connection_closed(&mut self, conn: ConnId) {
        self.status_subs.remove(&conn);
        self.chain_subs.remove(&conn);
    }

    /// Sends a chain notification to every chain subscriber, then `status_changed` to every
    /// status subscriber.
    pub(super) fn notify_chain(&mut self, kind: Option<ServerKind>) {
        if let Some(kind) = kind {
            let subs: Vec<ConnId> = self.chain_subs.iter().copied().collect();
            for conn in subs {
                self.outputs.push_back(Output::Reply {
                    conn,
                    msg: ServerMessage::new(kind.clone()),
                });
            }
        }
        self.notify_status();
    }

    /// Sends `status_changed` to every status subscriber.
    pub(super) fn notify_status(&mut self) {
        if self.status_subs.is_empty() {
            return;
        }
        let status = self.status();
        let subs: Vec<ConnId> = self.status_subs.iter().copied().collect();
        for conn in subs {
            self.outputs.push_back(Output::Reply {
                conn,
                msg: ServerMessage::new(ServerKind::StatusChanged(status.clone())),
            });
        }
    }
}
