//! The wallet, driven through API requests to `Node::handle_request`: accounts, passwords
//! and sealing, recovery, public addresses, payments and their statuses (with a rollback),
//! certificates, stakes, balances, history, notifications and durability across restarts.

mod common;

use common::Net;
use stegosim_node::api::message::{
    Balance, ChangePassword, CloakAll, CreateAccount, ErrorCode, HistoryQuery, LogEntry,
    OutputType, Payment, RecoverAccount, Request, RequestKind, ServerKind, ServerMessage,
    StakeAmount, Timestamp, TxStatus, Unseal, UnstakeAll, ValidateCertificate,
};
use stegosim_node::chain::tx::Output;
use stegosim_node::config::{ChainConfig, STG};
use stegosim_node::crypto::{EncryptedSecret, KdfParams, Network, PublicKey, SecretKey};
use stegosim_node::node::{Node, NodeConfig};
use stegosim_node::rng::Seed;
use stegosim_node::storage::{MemStore, Store};

/// Connection the tests send requests on.
const CONN: u64 = 1;
/// Connection number the harness gives broadcasts.
const BROADCAST: u64 = u64::MAX;

/// A one-validator dev network: node 0 leads every block, so tests control the chain.
fn solo(seed: u64) -> Net {
    Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        1,
        seed,
    )
}

fn call_on(net: &mut Net, node: u32, account: Option<&str>, kind: RequestKind) -> ServerMessage {
    let replies = net.request(
        node,
        CONN,
        Request {
            id: 77,
            account_id: account.map(Into::into),
            kind,
        },
    );
    assert_eq!(replies.len(), 1, "one reply expected: {replies:?}");
    let m = replies.into_iter().next().unwrap();
    assert_eq!(m.id, 77, "the reply copies the id: {m:?}");
    m
}

fn call(net: &mut Net, account: Option<&str>, kind: RequestKind) -> ServerMessage {
    call_on(net, 0, account, kind)
}

/// A request that must succeed: its reply's kind.
fn ok(net: &mut Net, account: Option<&str>, kind: RequestKind) -> ServerKind {
    let m = call(net, account, kind);
    if let ServerKind::Error(e) = &m.kind {
        panic!("request failed: {e:?}");
    }
    m.kind
}

/// A request that must fail: its code and text.
fn fails(net: &mut Net, account: Option<&str>, kind: RequestKind) -> (ErrorCode, String) {
    let m = call(net, account, kind);
    match m.kind {
        ServerKind::Error(e) => {
            assert_eq!(m.account_id.as_deref(), account, "errors name the account");
            (e.code.expect("errors carry a code"), e.error)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Broadcast notifications since reply index `from`.
fn notes(net: &Net, from: usize) -> Vec<ServerMessage> {
    net.replies[from..]
        .iter()
        .filter(|(_, c, _)| *c == BROADCAST)
        .map(|(_, _, m)| m.clone())
        .collect()
}

fn create(net: &mut Net, password: &str) -> String {
    let m = call(
        net,
        None,
        RequestKind::CreateAccount(CreateAccount {
            password: password.into(),
        }),
    );
    assert!(matches!(m.kind, ServerKind::AccountCreated), "{m:?}");
    m.account_id.expect("account_created names the new account")
}

fn pkey(net: &mut Net, account: &str) -> String {
    match ok(net, Some(account), RequestKind::AccountInfo) {
        ServerKind::AccountInfo(k) => k.account_pkey,
        other => panic!("{other:?}"),
    }
}

fn balance(net: &mut Net, account: &str) -> Balance {
    match ok(net, Some(account), RequestKind::BalanceInfo) {
        ServerKind::BalanceInfo(b) => b,
        other => panic!("{other:?}"),
    }
}

fn payment(recipient: &str, amount: i64) -> Payment {
    Payment {
        recipient: recipient.into(),
        amount,
        payment_fee: 1000,
        comment: String::new(),
        locked_timestamp: None,
        with_certificate: false,
    }
}

fn created(kind: ServerKind) -> stegosim_node::api::message::TransactionCreated {
    match kind {
        ServerKind::TransactionCreated(t) => t,
        other => panic!("expected transaction_created, got {other:?}"),
    }
}

fn unseal(password: &str) -> RequestKind {
    RequestKind::Unseal(Unseal {
        password: password.into(),
    })
}

/// The statuses notified for `tx_hash`, in order.
fn statuses(net: &Net, tx_hash: &str) -> Vec<TxStatus> {
    notes(net, 0)
        .into_iter()
        .filter_map(|m| match m.kind {
            ServerKind::TransactionStatus(s) if s.tx_hash == tx_hash => Some(s.status),
            _ => None,
        })
        .collect()
}

// ----- bech32, by the reference rules (BIP-173), written out here ------------------------

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(*v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Decodes a bech32 string as BIP-173's reference code does; returns (hrp, data bytes).
fn reference_decode(s: &str) -> Result<(String, Vec<u8>), String> {
    if s.len() > 90 || s.bytes().any(|b| !(33..=126).contains(&b)) {
        return Err("length or characters".into());
    }
    if s.to_lowercase() != s && s.to_uppercase() != s {
        return Err("mixed case".into());
    }
    let s = s.to_lowercase();
    let pos = s.rfind('1').ok_or("no separator")?;
    if pos < 1 || pos + 7 > s.len() {
        return Err("separator position".into());
    }
    let hrp = &s[..pos];
    let mut values: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|b| b & 31));
    let mut data = Vec::new();
    for c in s[pos + 1..].bytes() {
        let v = CHARSET
            .iter()
            .position(|&x| x == c)
            .ok_or("bad character")? as u8;
        data.push(v);
    }
    values.extend(&data);
    if polymod(&values) != 1 {
        return Err("checksum (bech32, constant 1)".into());
    }
    data.truncate(data.len() - 6);
    // convertbits(data, 5, 8, pad = false)
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for v in data {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return Err("padding".into());
    }
    Ok((hrp.to_string(), out))
}

// ----- accounts ----------------------------------------------------------------------------

#[test]
fn genesis_account_create_list_delete_and_smallest_unused_ids() {
    let mut net = Net::new(ChainConfig::dev(), 4, 101);
    // Node 0 created account "1" holding the genesis funds; it is unsealed after creation.
    let ServerKind::AccountsInfo(list) = ok(&mut net, None, RequestKind::AccountsInfo) else {
        panic!()
    };
    assert_eq!(list.accounts.keys().collect::<Vec<_>>(), ["1"]);
    let one = &list.accounts["1"];
    assert!(one.account_pkey.starts_with("dev1"));
    assert!(one.network_pkey.is_some(), "node 0 validates");
    let b = balance(&mut net, "1");
    assert!(b.payment.current >= 1_000_000 * STG, "{b:?}");
    assert_eq!(
        b.current,
        b.payment.current + b.public_payment.current + b.stake.current
    );
    assert_eq!(b.is_final, Some(true), "genesis outputs are final");
    // Other nodes' wallets start empty.
    let m = call_on(&mut net, 1, None, RequestKind::AccountsInfo);
    assert!(matches!(m.kind, ServerKind::AccountsInfo(ref l) if l.accounts.is_empty()));

    assert_eq!(create(&mut net, "pw2"), "2");
    assert_eq!(create(&mut net, "pw3"), "3");
    let m = call(&mut net, Some("2"), RequestKind::DeleteAccount);
    assert!(matches!(m.kind, ServerKind::AccountDeleted), "{m:?}");
    assert_eq!(m.account_id.as_deref(), Some("2"));
    // The deleted account was moved aside, not destroyed.
    let trash = net.stores[0].scan_prefix(b"wallet/trash/").unwrap();
    assert!(!trash.is_empty());
    // The smallest unused id is reused.
    assert_eq!(create(&mut net, "pw4"), "2");
    let ServerKind::AccountsInfo(list) = ok(&mut net, None, RequestKind::AccountsInfo) else {
        panic!()
    };
    assert_eq!(list.accounts.keys().collect::<Vec<_>>(), ["1", "2", "3"]);
    // Old names do not come back, new keys differ.
    assert_ne!(
        list.accounts["2"].account_pkey,
        list.accounts["3"].account_pkey
    );

    // Unknown, malformed or missing account ids.
    for bad in [Some("9"), Some("02"), Some("x"), Some(""), None] {
        let (code, text) = fails(&mut net, bad, RequestKind::DeleteAccount);
        assert_eq!(code, ErrorCode::AccountNotFound, "{bad:?}: {text}");
    }
    let (code, _) = fails(&mut net, Some("7"), RequestKind::BalanceInfo);
    assert_eq!(code, ErrorCode::AccountNotFound);
    // An empty password is refused.
    let (code, _) = fails(
        &mut net,
        None,
        RequestKind::CreateAccount(CreateAccount {
            password: String::new(),
        }),
    );
    assert_eq!(code, ErrorCode::InvalidField);
    // Deleting works on a sealed account too.
    ok(&mut net, Some("3"), RequestKind::Seal);
    ok(&mut net, Some("3"), RequestKind::DeleteAccount);
    // What was acknowledged survives a crash: "2" (re-created) exists, "3" stays deleted.
    net.crash(0);
    net.restart(0);
    assert_eq!(net.node(0).wallet().account_ids(), ["1", "2"]);
}

#[test]
fn addresses_decode_with_the_bech32_reference_rules() {
    let mut net = solo(102);
    let id = create(&mut net, "pw");
    let address = pkey(&mut net, &id);
    let (hrp, data) = reference_decode(&address).unwrap();
    assert_eq!(hrp, "dev");
    assert_eq!(data.len(), 32);
    let key = net.node(0).wallet().account_pkey(&id).unwrap();
    assert_eq!(data, key.as_bytes());
    let ServerKind::PublicAddressCreated(a) =
        ok(&mut net, Some(&id), RequestKind::CreatePublicAddress)
    else {
        panic!()
    };
    assert_eq!(a.public_address_id, 1);
    let (hrp, data) = reference_decode(&a.public_address).unwrap();
    assert_eq!((hrp.as_str(), data.len()), ("dev", 32));
    assert!(PublicKey::from_bytes(data.try_into().unwrap()).is_ok());
    // The reference decoder agrees that a changed character breaks the checksum.
    let mut broken = address.clone().into_bytes();
    let last = broken.len() - 1;
    broken[last] = if broken[last] == b'q' { b'p' } else { b'q' };
    assert!(reference_decode(std::str::from_utf8(&broken).unwrap()).is_err());

    // The chain's prefix: a testnet node shows `stt` addresses.
    let mut testnet = Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::testnet()
        },
        1,
        103,
    );
    let address = pkey(&mut testnet, "1");
    let (hrp, _) = reference_decode(&address).unwrap();
    assert_eq!(hrp, "stt");
}

// ----- passwords ---------------------------------------------------------------------------

#[test]
fn seal_unseal_wrong_password_change_password_and_sealed_at_restart() {
    let mut net = solo(104);
    assert!(net.node(0).wallet().is_unsealed("1"), "created: unsealed");
    ok(&mut net, Some("1"), RequestKind::Seal);
    assert_eq!(
        fails(&mut net, Some("1"), RequestKind::Seal),
        (ErrorCode::AlreadySealed, "Account is sealed".into())
    );
    // A sealed account refuses everything but unseal, account_info, restake_all, delete.
    let refused = [
        RequestKind::BalanceInfo,
        RequestKind::UnspentInfo,
        RequestKind::RecoveryInfo,
        RequestKind::CreatePublicAddress,
        RequestKind::PublicAddressesInfo,
        RequestKind::HistoryInfo(HistoryQuery {
            starting_from: Timestamp::UNIX_EPOCH,
            limit: 10,
        }),
        RequestKind::ChangePassword(ChangePassword {
            new_password: "x".into(),
        }),
        RequestKind::Payment(payment("dev1x", 1)),
        RequestKind::PublicPayment(payment("dev1x", 1)),
        RequestKind::SecurePayment(payment("dev1x", 1)),
        RequestKind::CloakAll(CloakAll { payment_fee: 1000 }),
        RequestKind::Stake(StakeAmount {
            amount: 5000,
            payment_fee: 1000,
        }),
        RequestKind::Unstake(StakeAmount {
            amount: 5000,
            payment_fee: 1000,
        }),
        RequestKind::UnstakeAll(UnstakeAll { payment_fee: None }),
    ];
    for kind in refused {
        let name = kind.type_name();
        assert_eq!(
            fails(&mut net, Some("1"), kind),
            (ErrorCode::AccountSealed, "Account is sealed".into()),
            "{name}"
        );
    }
    assert!(matches!(
        ok(&mut net, Some("1"), RequestKind::AccountInfo),
        ServerKind::AccountInfo(_)
    ));
    let (code, text) = fails(&mut net, Some("1"), unseal("wrong"));
    assert_eq!(
        (code, text.as_str()),
        (ErrorCode::InvalidPassword, "Invalid password")
    );
    assert!(matches!(
        ok(&mut net, Some("1"), unseal("dev")),
        ServerKind::Unsealed
    ));
    assert_eq!(
        fails(&mut net, Some("1"), unseal("dev")),
        (ErrorCode::AlreadyUnsealed, "Already unsealed".into())
    );
    assert!(matches!(
        ok(
            &mut net,
            Some("1"),
            RequestKind::ChangePassword(ChangePassword {
                new_password: "n3w".into()
            })
        ),
        ServerKind::PasswordChanged
    ));
    ok(&mut net, Some("1"), RequestKind::Seal);
    assert_eq!(
        fails(&mut net, Some("1"), unseal("dev")).0,
        ErrorCode::InvalidPassword
    );
    ok(&mut net, Some("1"), unseal("n3w"));

    // A restart (after a crash: only synced state survives) starts every account sealed, and
    // the new password holds.
    let id = create(&mut net, "pw");
    net.crash(0);
    net.restart(0);
    assert!(!net.node(0).wallet().is_unsealed("1"));
    assert!(!net.node(0).wallet().is_unsealed(&id));
    assert_eq!(
        fails(&mut net, Some(&id), RequestKind::BalanceInfo).0,
        ErrorCode::AccountSealed
    );
    assert_eq!(
        fails(&mut net, Some("1"), unseal("dev")).0,
        ErrorCode::InvalidPassword
    );
    ok(&mut net, Some("1"), unseal("n3w"));
    ok(&mut net, Some(&id), unseal("pw"));
}

/// Reads an account's sealed key from the store (the record is postcard: pkey, sealed key,
/// public addresses).
fn stored_secret(store: &MemStore, id: u32) -> EncryptedSecret {
    let mut key = b"wallet/account/".to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    let bytes = store.get(&key).unwrap().expect("account record");
    let (_, sealed, _): (PublicKey, EncryptedSecret, Vec<PublicKey>) =
        postcard::from_bytes(&bytes).unwrap();
    sealed
}

#[test]
fn default_kdf_parameters_seal_the_genesis_account() {
    // The one test with the real (slow) KDF: what `genesis_node` configures.
    let chain = ChainConfig {
        genesis_validators: 1,
        ..ChainConfig::dev()
    };
    let cfg = NodeConfig::genesis_node(chain.clone(), 0, Seed(105));
    assert_eq!(cfg.wallet.kdf, KdfParams::default());
    let store = MemStore::new();
    let mut node = Node::new(cfg, Box::new(store.clone()), chain.genesis_time_ns).unwrap();
    let sealed = stored_secret(&store, 1);
    assert_eq!(sealed.kdf, KdfParams::default());
    let now = chain.genesis_time_ns;
    let send = |node: &mut Node, kind: RequestKind| {
        node.handle_request(
            now,
            CONN,
            Request {
                id: 1,
                account_id: Some("1".into()),
                kind,
            },
        );
        let mut reply = None;
        while let Some(out) = node.poll_output() {
            if let stegosim_node::node::Output::Reply { msg, .. } = out {
                reply = Some(msg.kind);
            }
        }
        reply.expect("a reply")
    };
    assert!(matches!(
        send(&mut node, RequestKind::Seal),
        ServerKind::Sealed
    ));
    assert!(matches!(
        send(&mut node, unseal("nope")),
        ServerKind::Error(_)
    ));
    assert!(matches!(
        send(&mut node, unseal("dev")),
        ServerKind::Unsealed
    ));
}

#[test]
fn every_account_has_its_own_salt() {
    let mut net = solo(106);
    create(&mut net, "same");
    create(&mut net, "same");
    let (a, b) = (
        stored_secret(&net.stores[0], 2),
        stored_secret(&net.stores[0], 3),
    );
    assert_ne!(a.salt, b.salt);
    assert_eq!(a.kdf, KdfParams::simulation(), "the harness lowers the KDF");
}

// ----- recovery ----------------------------------------------------------------------------

#[test]
fn recovery_round_trip_with_public_addresses_and_errors() {
    let mut net = solo(107);
    net.run_for(2);
    for _ in 0..2 {
        ok(&mut net, Some("1"), RequestKind::CreatePublicAddress);
    }
    let ServerKind::PublicAddressesInfo(before) =
        ok(&mut net, Some("1"), RequestKind::PublicAddressesInfo)
    else {
        panic!()
    };
    let ServerKind::Recovery(r) = ok(&mut net, Some("1"), RequestKind::RecoveryInfo) else {
        panic!()
    };
    assert_eq!(r.recovery.split(' ').count(), 24);
    assert_eq!(r.last_public_address_id, Some(2));
    let pk = pkey(&mut net, "1");
    let bal = balance(&mut net, "1");

    // Recovering a key the wallet holds is refused.
    let recover = |phrase: &str, password: Option<&str>, last: Option<u32>| {
        RequestKind::RecoverAccount(RecoverAccount {
            recovery: phrase.into(),
            password: password.map(Into::into),
            last_public_address_id: last,
        })
    };
    let (code, text) = fails(&mut net, None, recover(&r.recovery, Some("pw"), None));
    assert_eq!(code, ErrorCode::InvalidRecovery);
    assert!(text.contains("account 1"), "{text}");

    ok(&mut net, Some("1"), RequestKind::DeleteAccount);
    let m = call(&mut net, None, recover(&r.recovery, Some("pw2"), Some(2)));
    assert!(matches!(m.kind, ServerKind::AccountCreated), "{m:?}");
    assert_eq!(m.account_id.as_deref(), Some("1"));
    assert!(net.node(0).wallet().is_unsealed("1"), "recovered: unsealed");
    assert_eq!(pkey(&mut net, "1"), pk);
    assert_eq!(
        balance(&mut net, "1"),
        bal,
        "the recovered account finds its outputs"
    );
    let ServerKind::PublicAddressesInfo(after) =
        ok(&mut net, Some("1"), RequestKind::PublicAddressesInfo)
    else {
        panic!()
    };
    assert_eq!(after, before, "public addresses re-created");
    ok(&mut net, Some("1"), RequestKind::Seal);
    ok(&mut net, Some("1"), unseal("pw2"));

    // Errors name the problem: an unknown word (by position and text), a bad checksum, a
    // wrong count, no password.
    let mut words: Vec<&str> = r.recovery.split(' ').collect();
    words[4] = "notaword";
    let (code, text) = fails(&mut net, None, recover(&words.join(" "), Some("pw"), None));
    assert_eq!(code, ErrorCode::InvalidRecovery);
    assert!(
        text.contains("word 5") && text.contains("notaword"),
        "{text}"
    );
    let mut words: Vec<&str> = r.recovery.split(' ').collect();
    words.swap(0, 1);
    if words[0] != words[1] {
        let (code, text) = fails(&mut net, None, recover(&words.join(" "), Some("pw"), None));
        assert_eq!(code, ErrorCode::InvalidRecovery);
        assert!(text.contains("checksum"), "{text}");
    }
    let (code, text) = fails(&mut net, None, recover("abandon abandon", Some("pw"), None));
    assert_eq!(code, ErrorCode::InvalidRecovery);
    assert!(text.contains("24 words"), "{text}");
    let (code, _) = fails(&mut net, None, recover(&r.recovery, None, None));
    assert_eq!(code, ErrorCode::MissingField);

    // The seed document's phrase recovers the key the shared vectors give.
    let seed_phrase = "swear praise ginger oxygen anchor ten small planet crime cave fold chuckle \
                       foot dragon decorate guess poverty grass crew depend define twice mother update";
    let m = call(&mut net, None, recover(seed_phrase, Some("pw"), None));
    let id = m.account_id.clone().unwrap();
    let bytes: stegosim_node::crypto::Hash =
        "db9531884f2087bdf31d2f3384996a1445ae840e433ba90cbccd1d7399d6a40f"
            .parse()
            .unwrap();
    let secret = SecretKey::from_bytes(bytes.0).unwrap();
    assert_eq!(
        pkey(&mut net, &id),
        secret.public_key().to_bech32(Network::Dev)
    );
}

// ----- payments ----------------------------------------------------------------------------

#[test]
fn payment_statuses_created_accepted_prepared_rollback_committed() {
    let mut net = solo(108);
    net.run_for(1);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    let before = net.replies.len();
    let mut p = payment(&to, 1_000 * STG);
    p.comment = "rent".into();
    let t = created(ok(&mut net, Some("1"), RequestKind::Payment(p)));
    assert_eq!(t.status, TxStatus::Created);
    assert_eq!(t.fee, 2000, "the fee is per output: payment and change");
    assert_eq!(t.outputs.len(), 2);
    assert_eq!(t.outputs[0].amount, 1_000 * STG);
    assert_eq!(t.outputs[0].recipient, to);
    assert_eq!(t.outputs[0].comment, "rent");
    assert!(!t.outputs[0].is_change && t.outputs[0].rvalue.is_none());
    assert!(t.outputs[1].is_change);
    assert_eq!(t.outputs[1].comment, "Change");
    assert_eq!(t.inputs.len(), 1);
    // `created` and `accepted` follow the reply.
    let n = notes(&net, before);
    assert!(
        n.iter().any(|m| m.account_id.as_deref() == Some("1")
            && matches!(&m.kind, ServerKind::TransactionStatus(s) if s.tx_hash == t.tx_hash && s.status == TxStatus::Accepted)),
        "{n:?}"
    );

    net.run_for(1);
    let (epoch, offset) = (
        net.node(0).chain().epoch(),
        net.node(0).chain().offset() - 1,
    );
    // The micro block that holds it is popped: rollback, then back in the mempool.
    ok(&mut net, None, RequestKind::PopMicroBlock);
    let rollback = notes(&net, before).into_iter().find_map(|m| match m.kind {
        ServerKind::TransactionStatus(s) if s.status == TxStatus::Rollback => Some(s),
        _ => None,
    });
    let rollback = rollback.expect("a rollback notification");
    assert_eq!(
        (rollback.epoch, rollback.offset),
        (Some(epoch), Some(offset))
    );
    // Run to the end of the epoch: prepared again, then committed.
    let target = net.node(0).chain().epoch() + 1;
    while net.node(0).chain().epoch() < target {
        net.run_for(1);
    }
    assert_eq!(
        statuses(&net, &t.tx_hash),
        [
            TxStatus::Created,
            TxStatus::Accepted,
            TxStatus::Prepared,
            TxStatus::Rollback,
            TxStatus::Accepted,
            TxStatus::Prepared,
            TxStatus::Committed
        ]
    );
    // The recipient was told, and its balance is final.
    let n = notes(&net, before);
    let received = n
        .iter()
        .find_map(|m| match &m.kind {
            ServerKind::Received(r) if m.account_id.as_deref() == Some(two.as_str()) => Some(r),
            _ => None,
        })
        .expect("received");
    assert_eq!(
        (received.amount, received.comment.as_str()),
        (1_000 * STG, "rent")
    );
    assert!(n.iter().any(|m| m.account_id.as_deref() == Some("1")
        && matches!(m.kind, ServerKind::Spent(_))));
    assert!(
        n.iter()
            .any(|m| m.account_id.as_deref() == Some(two.as_str())
                && matches!(m.kind, ServerKind::BalanceChanged(_)))
    );
    let b = balance(&mut net, &two);
    assert_eq!(b.payment.current, 1_000 * STG);
    assert_eq!(b.available, 1_000 * STG);
    assert_eq!(b.is_final, Some(true));
    assert_eq!(balance(&mut net, "1").is_final, Some(true));
}

#[test]
fn payment_errors_are_clear() {
    let mut net = solo(109);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    let pay = |p: Payment| RequestKind::Payment(p);
    let (code, text) = fails(&mut net, Some(&two), pay(payment(&to, 5)));
    assert_eq!(
        (code, text.as_str()),
        (ErrorCode::NotEnoughMoney, "Not enough money.")
    );
    let (code, _) = fails(&mut net, Some("1"), pay(payment(&to, 2_000_000 * STG)));
    assert_eq!(code, ErrorCode::NotEnoughMoney);
    for amount in [0, -5] {
        assert_eq!(
            fails(&mut net, Some("1"), pay(payment(&to, amount))).0,
            ErrorCode::InvalidAmount
        );
    }
    let mut p = payment(&to, 10);
    p.payment_fee = 999;
    let (code, text) = fails(&mut net, Some("1"), pay(p));
    assert_eq!(code, ErrorCode::FeeTooLow);
    assert!(text.contains("1000"), "{text}");
    let mut p = payment(&to, 10);
    p.comment = "é".repeat(881);
    let (code, text) = fails(&mut net, Some("1"), pay(p.clone()));
    assert_eq!(code, ErrorCode::CommentTooLong, "{text}");
    p.comment = "é".repeat(880);
    created(ok(&mut net, Some("1"), pay(p)));
    let stt = secret_addr(Network::Testnet);
    for bad in ["", "dev1qqqq", "hello", stt.as_str()] {
        let (code, text) = fails(&mut net, Some("1"), pay(payment(bad, 10)));
        assert_eq!(code, ErrorCode::InvalidRecipient, "{bad}: {text}");
    }
    // A secure payment is checked as a payment before it joins a Snowball round (the round
    // itself is tested in snowball_nodes.rs).
    let (code, text) = fails(
        &mut net,
        Some("1"),
        RequestKind::SecurePayment(payment("x", 10)),
    );
    assert_eq!(code, ErrorCode::InvalidRecipient, "{text}");
    // The public kind validates the same way.
    let (code, _) = fails(
        &mut net,
        Some("1"),
        RequestKind::PublicPayment(payment("x", 10)),
    );
    assert_eq!(code, ErrorCode::InvalidRecipient);
}

fn secret_addr(n: Network) -> String {
    SecretKey::from_seed([5; 32]).public_key().to_bech32(n)
}

#[test]
fn locked_outputs_are_current_but_not_available_until_their_time() {
    let mut net = solo(110);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    let until = net.now_ns + 30 * 1_000_000_000;
    let mut p = payment(&to, 50 * STG);
    p.locked_timestamp = Some(Timestamp::from_unix_nanos(until));
    let t = created(ok(&mut net, Some("1"), RequestKind::Payment(p)));
    assert_eq!(
        t.outputs[0].locked_timestamp,
        Some(Timestamp::from_unix_nanos(until))
    );
    assert_eq!(t.outputs[1].locked_timestamp, None, "change is not locked");
    net.run_for(2);
    let b = balance(&mut net, &two);
    assert_eq!((b.payment.current, b.payment.available), (50 * STG, 0));
    let ServerKind::UnspentInfo(u) = ok(&mut net, Some(&two), RequestKind::UnspentInfo) else {
        panic!()
    };
    assert_eq!(u.payments.len(), 1);
    assert_eq!(
        u.payments[0].locked_timestamp,
        Some(Timestamp::from_unix_nanos(until))
    );
    let back = pkey(&mut net, "1");
    let (code, _) = fails(
        &mut net,
        Some(&two),
        RequestKind::Payment(payment(&back, STG)),
    );
    assert_eq!(code, ErrorCode::NotEnoughMoney);
    net.run_for(30);
    let b = balance(&mut net, &two);
    assert_eq!(b.payment.available, 50 * STG);
    created(ok(
        &mut net,
        Some(&two),
        RequestKind::Payment(payment(&back, STG)),
    ));
}

#[test]
fn public_addresses_public_payments_and_cloak_all() {
    let mut net = solo(111);
    let two = create(&mut net, "pw");
    let ServerKind::PublicAddressCreated(a1) =
        ok(&mut net, Some(&two), RequestKind::CreatePublicAddress)
    else {
        panic!()
    };
    let ServerKind::PublicAddressCreated(a2) =
        ok(&mut net, Some(&two), RequestKind::CreatePublicAddress)
    else {
        panic!()
    };
    assert_eq!((a1.public_address_id, a2.public_address_id), (1, 2));
    assert_ne!(a1.public_address, a2.public_address);
    let ServerKind::PublicAddressesInfo(info) =
        ok(&mut net, Some(&two), RequestKind::PublicAddressesInfo)
    else {
        panic!()
    };
    assert_eq!(info.public_addresses[&1].address, a1.public_address);
    assert_eq!(info.public_addresses[&2].address, a2.public_address);

    let before = net.replies.len();
    for (addr, amount) in [(&a1.public_address, 7 * STG), (&a2.public_address, 3 * STG)] {
        let mut p = payment(addr, amount);
        p.comment = "deposit".into();
        let t = created(ok(&mut net, Some("1"), RequestKind::PublicPayment(p)));
        assert_eq!(t.outputs[0].output_type, OutputType::PublicPayment);
        assert_eq!(t.outputs[0].comment, "deposit", "kept by the sender");
        net.run_for(1);
    }
    let n = notes(&net, before);
    let received: Vec<i64> = n
        .iter()
        .filter_map(|m| match &m.kind {
            ServerKind::ReceivedPublic(r) if m.account_id.as_deref() == Some(two.as_str()) => {
                Some(r.amount)
            }
            _ => None,
        })
        .collect();
    assert_eq!(received, [7 * STG, 3 * STG]);
    let b = balance(&mut net, &two);
    assert_eq!(b.public_payment.current, 10 * STG);
    assert_eq!(b.payment.current, 0);

    let (code, _) = fails(
        &mut net,
        Some(&two),
        RequestKind::CloakAll(CloakAll { payment_fee: 10 }),
    );
    assert_eq!(code, ErrorCode::FeeTooLow);
    let t = created(ok(
        &mut net,
        Some(&two),
        RequestKind::CloakAll(CloakAll { payment_fee: 1000 }),
    ));
    assert_eq!(
        t.inputs.len(),
        2,
        "both addresses' outputs in one transaction"
    );
    assert_eq!(t.fee, 1000);
    net.run_for(1);
    let b = balance(&mut net, &two);
    assert_eq!(b.public_payment.current, 0);
    assert_eq!(b.payment.current, 10 * STG - 1000);
    let (code, _) = fails(
        &mut net,
        Some(&two),
        RequestKind::CloakAll(CloakAll { payment_fee: 1000 }),
    );
    assert_eq!(code, ErrorCode::NotEnoughMoney, "nothing left to cloak");
}

#[test]
fn certificates_validate_and_forgeries_do_not() {
    let mut net = solo(112);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    let from = pkey(&mut net, "1");
    let mut p = payment(&to, 1234);
    p.with_certificate = true;
    let t = created(ok(&mut net, Some("1"), RequestKind::Payment(p)));
    let rvalue = t.outputs[0]
        .rvalue
        .clone()
        .expect("with_certificate keeps the r-value");
    assert!(t.outputs[1].rvalue.is_none(), "not for change");
    net.run_for(1);
    let cert = |spender: &str, rvalue: &str| {
        RequestKind::ValidateCertificate(ValidateCertificate {
            utxo: t.outputs[0].utxo.clone(),
            spender: spender.into(),
            recipient: to.clone(),
            rvalue: rvalue.into(),
        })
    };
    let ServerKind::CertificateValid(c) = ok(&mut net, None, cert(&from, &rvalue)) else {
        panic!()
    };
    assert_eq!(c.amount, 1234);
    assert!(!c.is_final);
    let forged = stegosim_node::crypto::Rvalue::from_seed([3; 32]).to_string();
    assert_eq!(
        fails(&mut net, None, cert(&from, &forged)).0,
        ErrorCode::InvalidCertificate
    );
    assert_eq!(
        fails(&mut net, None, cert(&to, &rvalue)).0,
        ErrorCode::InvalidCertificate,
        "wrong spender"
    );
    // The history keeps the r-value.
    let ServerKind::HistoryInfo(h) = ok(
        &mut net,
        Some("1"),
        RequestKind::HistoryInfo(HistoryQuery {
            starting_from: Timestamp::UNIX_EPOCH,
            limit: 100,
        }),
    ) else {
        panic!()
    };
    assert!(h.log.iter().any(|e| matches!(e, LogEntry::Outgoing(o)
        if o.outputs[0].rvalue.as_deref() == Some(rvalue.as_str()))));
}

// ----- stakes ------------------------------------------------------------------------------

#[test]
fn stake_unstake_and_restake_all() {
    let mut net = solo(113);
    ok(&mut net, None, RequestKind::DisableRestaking);
    let stake = |amount, fee| {
        RequestKind::Stake(StakeAmount {
            amount,
            payment_fee: fee,
        })
    };
    assert_eq!(
        fails(&mut net, Some("1"), stake(1000, 1000)).0,
        ErrorCode::InvalidAmount
    );
    assert_eq!(
        fails(&mut net, Some("1"), stake(5000, 10)).0,
        ErrorCode::FeeTooLow
    );
    let before = net.replies.len();
    let t = created(ok(&mut net, Some("1"), stake(5_000 * STG, 1000)));
    assert_eq!(t.outputs[0].output_type, OutputType::Stake);
    assert_eq!(t.fee, 2000);
    net.run_for(1);
    assert!(notes(&net, before).iter().any(
        |m| matches!(&m.kind, ServerKind::Staked(s) if s.amount == 5_000 * STG && s.is_active)
    ));
    let b = balance(&mut net, "1");
    assert_eq!(
        (b.stake.current, b.stake.available),
        (5_000 * STG, 0),
        "active: locked"
    );
    let unstake = |amount| {
        RequestKind::Unstake(StakeAmount {
            amount,
            payment_fee: 1000,
        })
    };
    let (code, text) = fails(&mut net, Some("1"), unstake(STG));
    assert_eq!(code, ErrorCode::NotEnoughMoney);
    assert!(text.contains("expired"), "{text}");

    // Next epoch: the stake expired (restaking is off), so it can be unstaked in part.
    let next = net.node(0).chain().epoch() + 1;
    while net.node(0).chain().epoch() < next {
        net.run_for(1);
    }
    net.run_for(1);
    let b = balance(&mut net, "1");
    assert_eq!(b.stake.available, 5_000 * STG);
    let payment_before = b.payment.current;
    let t = created(ok(&mut net, Some("1"), unstake(1_000 * STG)));
    assert_eq!(t.outputs.len(), 2, "the rest stays staked");
    assert_eq!(t.outputs[0].amount, 1_000 * STG);
    assert_eq!(t.outputs[1].output_type, OutputType::Stake);
    assert_eq!(t.outputs[1].amount, 4_000 * STG - 2000);
    net.run_for(1);
    let b = balance(&mut net, "1");
    assert_eq!(b.stake.current, 4_000 * STG - 2000);
    assert_eq!(b.payment.current, payment_before + 1_000 * STG);

    // restake_all works on a sealed account: it needs only the validator's key.
    let next = net.node(0).chain().epoch() + 1;
    while net.node(0).chain().epoch() < next {
        net.run_for(1);
    }
    net.run_for(1);
    ok(&mut net, Some("1"), RequestKind::Seal);
    let t = created(ok(&mut net, Some("1"), RequestKind::RestakeAll));
    assert_eq!(t.outputs[0].amount, 4_000 * STG - 3000);
    assert_eq!(
        fails(&mut net, Some("1"), RequestKind::RestakeAll).0,
        ErrorCode::NotFound
    );
    net.run_for(1);
    ok(&mut net, Some("1"), unseal("dev"));
    let b = balance(&mut net, "1");
    assert_eq!(
        (b.stake.current, b.stake.available),
        (4_000 * STG - 3000, 0)
    );

    // unstake_all after it expires again.
    let next = net.node(0).chain().epoch() + 1;
    while net.node(0).chain().epoch() < next {
        net.run_for(1);
    }
    net.run_for(1);
    let t = created(ok(
        &mut net,
        Some("1"),
        RequestKind::UnstakeAll(UnstakeAll { payment_fee: None }),
    ));
    assert_eq!(t.outputs.len(), 1);
    assert_eq!(t.outputs[0].amount, 4_000 * STG - 4000);
    net.run_for(1);
    assert_eq!(balance(&mut net, "1").stake.current, 0);
    assert_eq!(
        fails(
            &mut net,
            Some("1"),
            RequestKind::UnstakeAll(UnstakeAll { payment_fee: None })
        )
        .0,
        ErrorCode::NotEnoughMoney
    );
}

#[test]
fn stakes_need_a_validator_node() {
    let mut net = Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        2,
        114,
    );
    let m = call_on(
        &mut net,
        1,
        None,
        RequestKind::CreateAccount(CreateAccount {
            password: "pw".into(),
        }),
    );
    let id = m.account_id.unwrap();
    let m = call_on(
        &mut net,
        1,
        Some(&id),
        RequestKind::Stake(StakeAmount {
            amount: 5000,
            payment_fee: 1000,
        }),
    );
    assert!(
        matches!(m.kind, ServerKind::Error(ref e) if e.error.contains("validator")),
        "{m:?}"
    );
    let m = call_on(&mut net, 1, Some(&id), RequestKind::RestakeAll);
    assert!(matches!(m.kind, ServerKind::Error(_)), "{m:?}");
}

// ----- balances, unspent outputs, history ---------------------------------------------------

#[test]
fn unspent_info_history_and_balances_agree() {
    let mut net = solo(115);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    net.run_for(1);
    let start = Timestamp::from_unix_nanos(net.now_ns);
    for i in 1..=3 {
        let mut p = payment(&to, i * STG);
        p.comment = format!("n{i}");
        created(ok(&mut net, Some("1"), RequestKind::Payment(p)));
        net.run_for(1);
    }
    let ServerKind::UnspentInfo(u) = ok(&mut net, Some(&two), RequestKind::UnspentInfo) else {
        panic!()
    };
    let mut comments: Vec<&str> = u.payments.iter().map(|p| p.comment.as_str()).collect();
    comments.sort();
    assert_eq!(comments, ["n1", "n2", "n3"]);
    let b = balance(&mut net, &two);
    assert_eq!(
        b.payment.current,
        u.payments.iter().map(|p| p.amount).sum::<i64>()
    );
    assert_eq!(b.payment.current, 6 * STG);

    let history = |net: &mut Net, id: &str, from: Timestamp, limit: u64| match ok(
        net,
        Some(id),
        RequestKind::HistoryInfo(HistoryQuery {
            starting_from: from,
            limit,
        }),
    ) {
        ServerKind::HistoryInfo(h) => h.log,
        other => panic!("{other:?}"),
    };
    let log = history(&mut net, &two, Timestamp::UNIX_EPOCH, 100);
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|e| matches!(e, LogEntry::Incoming(i) if !i.output.is_change))
    );
    let log1 = history(&mut net, "1", start, 100);
    let outgoing = log1
        .iter()
        .filter(|e| matches!(e, LogEntry::Outgoing(_)))
        .count();
    let change = log1
        .iter()
        .filter(|e| matches!(e, LogEntry::Incoming(i) if i.output.is_change && i.output.comment == "Change"))
        .count();
    assert_eq!((outgoing, change), (3, 3));
    assert!(log1.iter().all(|e| match e {
        LogEntry::Outgoing(o) => o.status == TxStatus::Prepared && o.epoch.is_some(),
        LogEntry::Incoming(_) => true,
    }));
    // Genesis outputs are older than `start`, so they are left out; `limit` cuts.
    assert_eq!(history(&mut net, "1", start, 2).len(), 2);
    let all = history(&mut net, "1", Timestamp::UNIX_EPOCH, 1000);
    assert_eq!(all.len(), log1.len() + 20, "plus 20 genesis outputs");
    // Entries come oldest first.
    let times: Vec<u64> = all
        .iter()
        .map(|e| match e {
            LogEntry::Incoming(i) => i.timestamp.unix_nanos(),
            LogEntry::Outgoing(o) => o.timestamp.unix_nanos(),
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn sealed_accounts_get_no_notifications_but_see_everything_when_unsealed() {
    let mut net = solo(116);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    ok(&mut net, Some(&two), RequestKind::Seal);
    let before = net.replies.len();
    created(ok(
        &mut net,
        Some("1"),
        RequestKind::Payment(payment(&to, 9 * STG)),
    ));
    net.run_for(2);
    assert!(
        notes(&net, before)
            .iter()
            .all(|m| m.account_id.as_deref() != Some(two.as_str())),
        "nothing for a sealed account"
    );
    ok(&mut net, Some(&two), unseal("pw"));
    assert_eq!(balance(&mut net, &two).payment.current, 9 * STG);
}

// ----- durability --------------------------------------------------------------------------

#[test]
fn acknowledged_state_survives_a_crash_and_lost_transactions_are_resubmitted() {
    let mut net = solo(117);
    net.run_for(1);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    ok(&mut net, Some(&two), RequestKind::CreatePublicAddress);
    let t = created(ok(
        &mut net,
        Some("1"),
        RequestKind::Payment(payment(&to, 3 * STG)),
    ));
    // Crash before any block holds it: the mempool is lost, the acknowledged transaction is
    // not.
    net.crash(0);
    net.restart(0);
    ok(&mut net, Some("1"), unseal("dev"));
    ok(&mut net, Some(&two), unseal("pw"));
    let ServerKind::PublicAddressesInfo(a) =
        ok(&mut net, Some(&two), RequestKind::PublicAddressesInfo)
    else {
        panic!()
    };
    assert_eq!(a.public_addresses.len(), 1);
    let tx_hash: stegosim_node::crypto::Hash = t.tx_hash.parse().unwrap();
    assert!(
        net.node(0).mempool().contains(&tx_hash),
        "resubmitted at start"
    );
    let next = net.node(0).chain().epoch() + 1;
    while net.node(0).chain().epoch() < next {
        net.run_for(1);
    }
    assert_eq!(balance(&mut net, &two).payment.current, 3 * STG);
    // A second restart finds it committed and keeps the history.
    net.crash(0);
    net.restart(0);
    ok(&mut net, Some("1"), unseal("dev"));
    let ServerKind::HistoryInfo(h) = ok(
        &mut net,
        Some("1"),
        RequestKind::HistoryInfo(HistoryQuery {
            starting_from: Timestamp::UNIX_EPOCH,
            limit: 1000,
        }),
    ) else {
        panic!()
    };
    assert!(h.log.iter().any(|e| matches!(e, LogEntry::Outgoing(o)
        if o.tx_hash == t.tx_hash && o.status == TxStatus::Committed)));
    // A new account after the restart gets a new key (the random stream continues).
    let three = create(&mut net, "pw");
    assert_ne!(pkey(&mut net, &three), to);
}

#[test]
fn wallet_outputs_are_deterministic() {
    let run = || {
        let mut net = solo(118);
        let two = create(&mut net, "pw");
        let to = pkey(&mut net, &two);
        created(ok(
            &mut net,
            Some("1"),
            RequestKind::Payment(payment(&to, STG)),
        ));
        net.run_for(3);
        net.hash()
    };
    assert_eq!(run(), run());
}

#[test]
fn genesis_outputs_belong_to_account_one() {
    let mut net = solo(119);
    let pk = net.node(0).wallet().account_pkey("1").unwrap();
    let ledger_total: i64 = net
        .node(0)
        .chain()
        .ledger
        .iter()
        .filter(|(_, u)| *u.output.owner() == pk && matches!(u.output, Output::Payment(_)))
        .map(|(_, u)| u.output.amount())
        .sum();
    assert_eq!(balance(&mut net, "1").payment.current, ledger_total);
    assert_eq!(ledger_total, ChainConfig::dev().genesis_funds);
}

/// The account's balance equals what the ledger holds for its keys, and `unspent_info`.
fn assert_matches_ledger(net: &mut Net, id: &str) {
    let b = balance(net, id);
    let ServerKind::UnspentInfo(u) = ok(net, Some(id), RequestKind::UnspentInfo) else {
        panic!()
    };
    let listed: i64 = u.payments.iter().map(|p| p.amount).sum::<i64>()
        + u.public_payments.iter().map(|p| p.amount).sum::<i64>()
        + u.stakes.iter().map(|p| p.amount).sum::<i64>();
    assert_eq!(listed, b.current, "account {id}: unspent_info");
    let key = net.node(0).wallet().account_pkey(id).unwrap();
    let ledger: i64 = net
        .node(0)
        .chain()
        .ledger
        .iter()
        .filter(|(_, u)| *u.output.owner() == key)
        .map(|(_, u)| u.output.amount())
        .sum();
    assert_eq!(ledger, b.current, "account {id}: ledger");
}

#[test]
fn the_wallet_follows_forks_and_catching_up_through_macro_blocks() {
    let mut net = Net::new(ChainConfig::dev(), 4, 120);
    net.run_for(2);
    let two = create(&mut net, "pw");
    let to = pkey(&mut net, &two);
    // Node 0 alone: whatever it builds is lost when it rejoins the majority, which meanwhile
    // finishes epochs without it.
    net.partition(&[0], &[1, 2, 3]);
    let t = created(ok(
        &mut net,
        Some("1"),
        RequestKind::Payment(payment(&to, 5 * STG)),
    ));
    net.run_for(25);
    assert_matches_ledger(&mut net, "1");
    net.heal();
    net.run_for(30);
    let epochs: Vec<u64> = (0..4).map(|i| net.node(i).chain().epoch()).collect();
    assert!(epochs.iter().all(|&e| e == epochs[0]), "{epochs:?}");
    assert!(
        net.count_events(|e| matches!(e, stegosim_node::node::Event::MacroBlockCommitted { .. }))
            > 0
    );
    assert_matches_ledger(&mut net, "1");
    assert_matches_ledger(&mut net, &two);
    let reverted = net
        .events
        .iter()
        .filter(|(_, n, e)| {
            *n == 0 && matches!(e, stegosim_node::node::Event::MicroBlockReverted { .. })
        })
        .count();
    assert!(reverted > 0, "node 0's lone blocks were reverted");
    // Whichever way consensus settled the payment, the wallet reported where it ended.
    let s = statuses(&net, &t.tx_hash);
    let last = *s.last().unwrap();
    let tx_hash = t.tx_hash.parse().unwrap();
    assert!(
        last == TxStatus::Committed || net.node(0).mempool().contains(&tx_hash),
        "{s:?}"
    );
}

#[test]
fn a_double_spend_from_another_node_is_conflicted_and_its_inputs_come_back() {
    // Node 0 validates alone; node 1 holds the same key (recovered from node 0's phrase).
    let mut net = Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        2,
        121,
    );
    net.run_for(1);
    let ServerKind::Recovery(r) = ok(&mut net, Some("1"), RequestKind::RecoveryInfo) else {
        panic!()
    };
    let m = call_on(
        &mut net,
        1,
        None,
        RequestKind::RecoverAccount(RecoverAccount {
            recovery: r.recovery,
            password: Some("pw".into()),
            last_public_address_id: None,
        }),
    );
    assert_eq!(m.account_id.as_deref(), Some("1"), "{m:?}");
    let to = secret_addr(Network::Dev);
    // Both spend the same (largest) output; neither hears of the other's transaction.
    net.partition(&[0], &[1]);
    let mine = created(ok(
        &mut net,
        Some("1"),
        RequestKind::Payment(payment(&to, STG)),
    ));
    let m = call_on(
        &mut net,
        1,
        Some("1"),
        RequestKind::Payment(payment(&to, 2 * STG)),
    );
    let theirs = created(m.kind);
    assert_eq!(mine.inputs, theirs.inputs);
    net.heal();
    net.run_for(3);
    let conflicted = net.replies.iter().find_map(|(n, c, m)| match &m.kind {
        ServerKind::TransactionStatus(s)
            if *n == 1 && *c == BROADCAST && s.tx_hash == theirs.tx_hash =>
        {
            (s.status == TxStatus::Conflicted).then_some(s.clone())
        }
        _ => None,
    });
    let conflicted = conflicted.expect("node 1's payment is conflicted");
    assert!(conflicted.epoch.is_some());
    // Node 1's wallet sees the same balance as node 0's once both follow the chain.
    let b0 = balance(&mut net, "1");
    let m = call_on(&mut net, 1, Some("1"), RequestKind::BalanceInfo);
    let ServerKind::BalanceInfo(b1) = m.kind else {
        panic!("{m:?}")
    };
    assert_eq!(b0.current, b1.current);
    assert_eq!(
        b1.available, b1.current,
        "the conflicted payment's inputs are free again"
    );
}

#[test]
fn aliases_decode_to_the_same_calls() {
    let mut net = solo(122);
    for (json, name) in [
        (r#"{"type":"list_accounts","id":77}"#, "accounts_info"),
        (
            r#"{"type":"get_recovery","id":77,"account_id":"1"}"#,
            "recovery",
        ),
    ] {
        let req = Request::from_json(json.as_bytes()).unwrap();
        let replies = net.request(0, CONN, req);
        assert_eq!(replies[0].type_name(), name, "{json}");
    }
}

#[test]
fn a_stake_that_misses_its_epoch_is_rejected() {
    let mut net = Net::new(ChainConfig::dev(), 4, 123);
    net.run_for(2);
    // Node 0 is cut off while its stake waits; the others finish the epoch without it.
    net.partition(&[0], &[1, 2, 3]);
    let t = created(ok(
        &mut net,
        Some("1"),
        RequestKind::Stake(StakeAmount {
            amount: 5_000 * STG,
            payment_fee: 1000,
        }),
    ));
    net.run_for(25);
    net.heal();
    net.run_for(15);
    let s = statuses(&net, &t.tx_hash);
    assert_eq!(s.last(), Some(&TxStatus::Rejected), "{s:?}");
    let error = notes(&net, 0).into_iter().find_map(|m| match m.kind {
        ServerKind::TransactionStatus(s) if s.status == TxStatus::Rejected => s.error,
        _ => None,
    });
    assert!(error.unwrap().contains("stake"), "the reason is given");
    // Its inputs are spendable again.
    let b = balance(&mut net, "1");
    assert_eq!(b.payment.available, b.payment.current);
    assert_eq!(b.stake.current, 0);
}
