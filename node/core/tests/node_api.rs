//! The node's API requests, answered through `Node::handle_request`: status, blocks,
//! subscriptions with replay and live notifications, pop, escrow, election, restaking,
//! payment certificates, and errors for what is not (yet) there.

mod common;

use common::Net;
use stegosim_node::api::message::{
    ChainPosition, ErrorCode, MacroBlockQuery, Request, RequestKind, ServerKind, ServerMessage,
    ValidateCertificate,
};
use stegosim_node::chain::genesis::GenesisKeys;
use stegosim_node::chain::tx::{Output, PaymentPayload, Transaction};
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::{Keypair, Network, Rvalue, sign};

fn req(id: u64, kind: RequestKind) -> Request {
    Request {
        id,
        account_id: None,
        kind,
    }
}

fn one(replies: Vec<ServerMessage>) -> ServerMessage {
    assert_eq!(replies.len(), 1, "expected one reply, got {replies:?}");
    replies.into_iter().next().unwrap()
}

fn error_code(m: &ServerMessage) -> Option<ErrorCode> {
    match &m.kind {
        ServerKind::Error(e) => e.code.clone(),
        _ => None,
    }
}

#[test]
fn status_chain_name_and_blocks() {
    let mut net = Net::new(ChainConfig::dev(), 4, 21);
    net.run_for(14);
    let m = one(net.request(0, 1, req(5, RequestKind::StatusInfo)));
    assert_eq!(m.id, 5);
    let ServerKind::StatusInfo(s) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(s.epoch, net.node(0).chain().epoch());
    assert_eq!(s.offset, net.node(0).chain().offset());
    assert_eq!(
        s.last_block_hash,
        net.node(0).chain().tip_hash().to_string()
    );
    assert!(s.is_synchronized);

    let m = one(net.request(0, 1, req(6, RequestKind::ChainName)));
    assert!(
        matches!(m.kind, ServerKind::ChainName(ref c) if c.name == "dev"),
        "{m:?}"
    );

    // A past epoch's macro block; the current epoch has none yet.
    let m = one(net.request(
        0,
        1,
        req(7, RequestKind::MacroBlockInfo(MacroBlockQuery { epoch: 1 })),
    ));
    let ServerKind::MacroBlockInfo(b) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(b.epoch, 1);
    assert_eq!(
        b.block_hash.unwrap(),
        net.node(0).chain().macros[1].hash().to_string()
    );
    let slots: u64 = b.validators.unwrap().iter().map(|v| v.slots).sum();
    assert_eq!(slots, 1000, "the next epoch's validators hold all slots");
    let current = net.node(0).chain().epoch();
    let m = one(net.request(
        0,
        1,
        req(
            8,
            RequestKind::MacroBlockInfo(MacroBlockQuery { epoch: current }),
        ),
    ));
    assert_eq!(error_code(&m), Some(ErrorCode::NotFound));
    assert_eq!(m.id, 8);

    let offset = net.node(0).chain().offset();
    assert!(offset > 0, "the test runs into an epoch with micro blocks");
    let m = one(net.request(
        0,
        1,
        req(
            9,
            RequestKind::MicroBlockInfo(ChainPosition {
                epoch: current,
                offset: 0,
            }),
        ),
    ));
    assert!(
        matches!(m.kind, ServerKind::MicroBlockInfo(ref b) if b.offset == 0 && b.epoch == current),
        "{m:?}"
    );
    let m = one(net.request(
        0,
        1,
        req(
            10,
            RequestKind::MicroBlockInfo(ChainPosition {
                epoch: current,
                offset: 99,
            }),
        ),
    ));
    assert_eq!(error_code(&m), Some(ErrorCode::NotFound));
}

#[test]
fn subscribe_chain_replays_then_streams_and_pop_notifies() {
    let mut net = Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        1,
        22,
    );
    net.run_for(13);
    let (epoch, offset) = (net.node(0).chain().epoch(), net.node(0).chain().offset());
    assert!(epoch >= 2 && offset >= 2, "at {epoch}:{offset}");
    let replies = net.request(
        0,
        3,
        req(
            1,
            RequestKind::SubscribeChain(ChainPosition {
                epoch: 1,
                offset: 0,
            }),
        ),
    );
    let ServerKind::SubscribedChain(sc) = &replies[0].kind else {
        panic!("{:?}", replies[0])
    };
    assert_eq!((sc.current_epoch, sc.current_offset), (epoch, offset));
    assert_eq!(replies[0].id, 1);
    // Replay: macro blocks of epochs 1.. then the current epoch's micro blocks.
    let macros = replies
        .iter()
        .filter(|m| matches!(m.kind, ServerKind::MacroBlockCommitted(_)))
        .count();
    let micros = replies
        .iter()
        .filter(|m| matches!(m.kind, ServerKind::MicroBlockPrepared(_)))
        .count();
    assert_eq!(macros as u64, epoch - 1);
    assert_eq!(micros as u32, offset);
    assert!(
        replies[1..].iter().all(|m| m.id == 0),
        "notifications carry no id"
    );

    // Live: a new block arrives as micro_block_prepared.
    let before = net.replies.len();
    net.run_for(2);
    assert!(
        net.replies[before..]
            .iter()
            .any(|(_, c, m)| *c == 3 && matches!(m.kind, ServerKind::MicroBlockPrepared(_)))
    );

    // pop_micro_block answers micro_block_popped and notifies micro_block_reverted.
    let replies = net.request(0, 3, req(2, RequestKind::PopMicroBlock));
    assert!(
        replies
            .iter()
            .any(|m| m.id == 2 && matches!(m.kind, ServerKind::MicroBlockPopped)),
        "{replies:?}"
    );
    assert!(
        replies
            .iter()
            .any(|m| matches!(m.kind, ServerKind::MicroBlockReverted(_))),
        "{replies:?}"
    );

    // After the connection closes, nothing more is sent to it.
    net.node_mut(0).connection_closed(3);
    let before = net.replies.len();
    net.run_for(3);
    assert!(net.replies[before..].iter().all(|(_, c, _)| *c != 3));
}

#[test]
fn subscribe_status_notifies_on_blocks() {
    let mut net = Net::new(ChainConfig::dev(), 4, 23);
    let m = one(net.request(1, 9, req(1, RequestKind::SubscribeStatus)));
    assert!(matches!(m.kind, ServerKind::SubscribedStatus(_)));
    net.run_for(3);
    let changes = net
        .replies
        .iter()
        .filter(|(n, c, m)| *n == 1 && *c == 9 && matches!(m.kind, ServerKind::StatusChanged(_)))
        .count();
    assert!(changes >= 2, "status_changed after blocks: {changes}");
}

#[test]
fn escrow_election_and_restaking_toggles() {
    let mut net = Net::new(ChainConfig::dev(), 4, 24);
    net.run_for(2);
    let m = one(net.request(0, 1, req(1, RequestKind::EscrowInfo)));
    let ServerKind::EscrowInfo(e) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(e.validators.len(), 4);
    let cfg = ChainConfig::dev();
    for v in &e.validators {
        assert_eq!(
            v.active_stake + v.expired_stake,
            v.stakes.iter().map(|s| s.amount).sum::<i64>()
        );
        assert!(v.stakes.iter().all(|s| s.account_pkey.starts_with("dev1")));
        assert!(v.active_stake + v.expired_stake >= cfg.genesis_stake - 10 * cfg.stake_fee_min);
    }
    let m = one(net.request(0, 1, req(2, RequestKind::ElectionInfo)));
    let ServerKind::ElectionInfo(el) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(el.slots_count, 1000);
    let leader = net.node(0).chain().leader_at(net.node(0).view_change());
    assert_eq!(
        el.current_leader,
        stegosim_node::crypto::Hash(*leader.as_bytes()).to_string()
    );

    let m = one(net.request(0, 1, req(3, RequestKind::EnableRestaking)));
    assert_eq!(
        error_code(&m),
        Some(ErrorCode::RestakingUnchanged),
        "restaking starts enabled"
    );
    let m = one(net.request(0, 1, req(4, RequestKind::DisableRestaking)));
    assert!(matches!(m.kind, ServerKind::RestakingDisabled));
    assert!(!net.node(0).restaking_enabled());
    let m = one(net.request(0, 1, req(5, RequestKind::DisableRestaking)));
    assert_eq!(error_code(&m), Some(ErrorCode::RestakingUnchanged));
    let m = one(net.request(0, 1, req(6, RequestKind::EnableRestaking)));
    assert!(matches!(m.kind, ServerKind::RestakingEnabled));
}

#[test]
fn pop_on_an_empty_epoch_is_an_error_reply() {
    let mut net = Net::new(ChainConfig::dev(), 4, 25);
    let m = one(net.request(0, 1, req(1, RequestKind::PopMicroBlock)));
    assert_eq!(error_code(&m), Some(ErrorCode::NothingToPop));
}

#[test]
fn a_certificate_validates_and_a_forged_one_does_not() {
    let mut net = Net::new(ChainConfig::dev(), 4, 26);
    net.run_for(1);
    let keys = GenesisKeys::derive(&net.chain);
    let payer = keys.funded_account.clone();
    let payee = Keypair::from_seed([9; 32]);
    let (input, utxo) = net
        .node(0)
        .chain()
        .ledger
        .iter()
        .find(|(_, u)| u.output.owner() == payer.public() && matches!(u.output, Output::Payment(_)))
        .map(|(h, u)| (*h, u.clone()))
        .unwrap();
    let r_seed = [42u8; 32];
    let pay = PaymentPayload {
        amount: 777,
        comment: "cert".into(),
        spender: Some(*payer.public()),
        rvalue_hint: true,
    }
    .into_output(payee.public(), None, r_seed);
    let fee = 2000;
    let change = PaymentPayload {
        amount: utxo.output.amount() - 777 - fee,
        comment: String::new(),
        spender: None,
        rvalue_hint: false,
    }
    .into_output(payer.public(), None, [43; 32]);
    let utxo_hash = pay.hash();
    let outputs = vec![pay, change];
    let body = Transaction::body_hash(&[input], &outputs, fee);
    let tx = Transaction::new(
        vec![input],
        outputs,
        fee,
        sign(payer.secret(), body.as_bytes()),
    );
    let now = net.now_ns;
    net.node_mut(0).submit_transaction(now, tx).unwrap();
    net.drain(0);
    net.run_for(3);

    let net_kind = Network::Dev;
    let cert = |rvalue: String, spender: &Keypair| ValidateCertificate {
        utxo: utxo_hash.to_string(),
        spender: spender.public().to_bech32(net_kind),
        recipient: payee.public().to_bech32(net_kind),
        rvalue,
    };
    let rvalue = Rvalue::from_seed(r_seed).to_string();
    let m = one(net.request(
        1,
        1,
        req(
            1,
            RequestKind::ValidateCertificate(cert(rvalue.clone(), &payer)),
        ),
    ));
    let ServerKind::CertificateValid(c) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(c.amount, 777);
    assert!(!c.is_final, "in a micro block, not yet final");

    // A wrong r-value and a wrong spender are refused.
    let wrong_r = Rvalue::from_seed([1; 32]).to_string();
    let m = one(net.request(
        1,
        1,
        req(2, RequestKind::ValidateCertificate(cert(wrong_r, &payer))),
    ));
    assert_eq!(error_code(&m), Some(ErrorCode::InvalidCertificate), "{m:?}");
    let m = one(net.request(
        1,
        1,
        req(
            3,
            RequestKind::ValidateCertificate(cert(rvalue.clone(), &payee)),
        ),
    ));
    assert_eq!(error_code(&m), Some(ErrorCode::InvalidCertificate), "{m:?}");
    let m = one(net.request(
        1,
        1,
        req(
            4,
            RequestKind::ValidateCertificate(ValidateCertificate {
                utxo: "zz".into(),
                ..cert(rvalue.clone(), &payer)
            }),
        ),
    ));
    assert_eq!(error_code(&m), Some(ErrorCode::InvalidField), "{m:?}");

    // Final after the macro block.
    net.run_for(12);
    let m = one(net.request(
        1,
        1,
        req(5, RequestKind::ValidateCertificate(cert(rvalue, &payer))),
    ));
    assert!(
        matches!(m.kind, ServerKind::CertificateValid(ref c) if c.is_final && c.amount == 777),
        "{m:?}"
    );
}
