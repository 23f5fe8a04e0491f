//! The node's side of the WebSocket API: requests in, responses and notifications out.
//!
//! [`Node::handle_request`] takes a decoded request from connection `conn` and answers with
//! [`Output::Reply`] (to that connection) now or later; subscriptions (`subscribe_status`,
//! `subscribe_chain`) make the node send notifications to the subscribed connections as
//! blocks come and go. The driver tells the node when a connection closes
//! ([`Node::connection_closed`]) so that it forgets its subscriptions.
//!
//! Node requests are answered here; wallet requests go to the wallet (`crate::wallet`, through
//! `Node::wallet_request`), which answers them itself.
//!
//! Conversions to API bodies: hashes are lower hex, network keys are hex (as the seed shows
//! them), account keys and addresses are bech32 with the chain's prefix, timestamps RFC 3339.

use crate::api::message::{
    self as api, CertificateValid, ChainName, ElectionInfo, ErrorCode, EscrowInfo, EscrowStake,
    EscrowValidator, NodeStatus, Request, RequestKind, ServerKind, ServerMessage, SubscribedChain,
    Timestamp, TxSummary,
};
use crate::chain::block::{MacroBlock, MicroBlock};
use crate::chain::tx::{Output as TxOutput, PaymentPayload};
use crate::crypto::{Hash, Network, PublicKey, Rvalue};
use crate::node::{ConnId, Node, Output};

/// Version number of block bodies in the API.
pub const BLOCK_VERSION: u64 = 1;

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
        self.advance_time(now_ns);
        let id = req.id;
        let reply = |kind: ServerKind| ServerMessage {
            id,
            account_id: None,
            kind,
        };
        let answer: Result<ServerMessage, (ErrorCode, String)> = match req.kind {
            RequestKind::StatusInfo => Ok(reply(ServerKind::StatusInfo(self.status()))),
            RequestKind::SubscribeStatus => {
                self.subscribe_status(conn);
                Ok(reply(ServerKind::SubscribedStatus(self.status())))
            }
            RequestKind::ChainName => Ok(reply(ServerKind::ChainName(ChainName {
                name: self.chain().cfg.name.clone(),
            }))),
            RequestKind::MacroBlockInfo(q) => {
                if q.epoch < self.chain().epoch() {
                    Ok(reply(ServerKind::MacroBlockInfo(macro_block_body(
                        &self.chain().macros[q.epoch as usize],
                        self.chain().cfg.slots_count,
                    ))))
                } else {
                    Err((
                        ErrorCode::NotFound,
                        format!(
                            "no macro block for epoch {}: the current epoch is {} and not final yet",
                            q.epoch,
                            self.chain().epoch()
                        ),
                    ))
                }
            }
            RequestKind::MicroBlockInfo(q) => {
                let c = self.chain();
                if q.epoch != c.epoch() {
                    Err((
                        ErrorCode::NotFound,
                        format!(
                            "micro blocks are kept for the current epoch {} only, not {}",
                            c.epoch(),
                            q.epoch
                        ),
                    ))
                } else if let Some(b) = c.micros.get(q.offset as usize) {
                    Ok(reply(ServerKind::MicroBlockInfo(micro_block_body(b))))
                } else {
                    Err((
                        ErrorCode::NotFound,
                        format!(
                            "no micro block at offset {} of epoch {}: the epoch has {}",
                            q.offset,
                            q.epoch,
                            c.offset()
                        ),
                    ))
                }
            }
            RequestKind::SubscribeChain(from) => {
                let c = self.chain();
                let first = reply(ServerKind::SubscribedChain(SubscribedChain {
                    current_epoch: c.epoch(),
                    current_offset: c.offset(),
                }));
                // Replay from (epoch, offset): final epochs as macro blocks, then the current
                // epoch's micro blocks from the offset (from 0 when the start is an earlier
                // epoch).
                let mut replay = Vec::new();
                for m in c.macros.iter().skip(from.epoch as usize) {
                    replay.push(ServerMessage::new(ServerKind::MacroBlockCommitted(
                        macro_block_body(m, c.cfg.slots_count),
                    )));
                }
                let start = if from.epoch == c.epoch() {
                    from.offset as usize
                } else {
                    0
                };
                if from.epoch <= c.epoch() {
                    for b in c.micros.iter().skip(start) {
                        replay.push(ServerMessage::new(ServerKind::MicroBlockPrepared(
                            micro_block_body(b),
                        )));
                    }
                }
                self.push_reply(conn, first);
                for m in replay {
                    self.push_reply(conn, m);
                }
                self.subscribe_chain(conn);
                return;
            }
            RequestKind::PopMicroBlock => match self.pop_micro_block(now_ns) {
                Ok(_) => Ok(reply(ServerKind::MicroBlockPopped)),
                Err(e) => Err((ErrorCode::NothingToPop, e.to_string())),
            },
            RequestKind::EscrowInfo => Ok(reply(ServerKind::EscrowInfo(self.escrow()))),
            RequestKind::ElectionInfo => {
                let c = self.chain();
                let view = self.view_change();
                Ok(reply(ServerKind::ElectionInfo(ElectionInfo {
                    epoch: c.epoch(),
                    offset: c.offset(),
                    view_change: view,
                    slots_count: c.election.slots_count() as u64,
                    current_leader: hex_key(&c.leader_at(view)),
                    next_leader: Some(hex_key(&c.leader_at(view + 1))),
                })))
            }
            RequestKind::EnableRestaking => {
                if self.set_restaking(true) {
                    Err((
                        ErrorCode::RestakingUnchanged,
                        "restaking is already enabled".into(),
                    ))
                } else {
                    Ok(reply(ServerKind::RestakingEnabled))
                }
            }
            RequestKind::DisableRestaking => {
                if !self.set_restaking(false) {
                    Err((
                        ErrorCode::RestakingUnchanged,
                        "restaking is already disabled".into(),
                    ))
                } else {
                    Ok(reply(ServerKind::RestakingDisabled))
                }
            }
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

    fn push_reply(&mut self, conn: ConnId, msg: ServerMessage) {
        self.push_output(Output::Reply { conn, msg });
    }
}
