//! Random sequences of wallet calls across several accounts, interleaved with blocks, popped
//! micro blocks and crashes, never break the ledger's supply invariant, never answer with an
//! internal error, and never make a balance negative or disagree with `unspent_info` or with
//! the ledger's own outputs of the account's keys.

mod common;

use common::Net;
use proptest::prelude::*;
use stegosim_node::api::message::{
    Balance, CloakAll, CreateAccount, ErrorCode, Payment, Request, RequestKind, ServerKind,
    ServerMessage, StakeAmount, Unseal, UnstakeAll,
};
use stegosim_node::config::{ChainConfig, STG};
use stegosim_node::crypto::{Network, PublicKey};

const ACCOUNTS: usize = 3;
const PASSWORDS: [&str; ACCOUNTS] = ["dev", "p2", "p3"];

#[derive(Debug, Clone)]
enum Op {
    /// Pay `per_mille` of the sender's available cloaked balance.
    Pay {
        from: usize,
        to: usize,
        per_mille: u16,
        public: bool,
        to_address: bool,
    },
    Stake {
        from: usize,
        per_mille: u16,
    },
    Unstake {
        from: usize,
        per_mille: u16,
    },
    UnstakeAll {
        from: usize,
    },
    RestakeAll {
        from: usize,
    },
    Cloak {
        from: usize,
    },
    NewAddress {
        account: usize,
    },
    Seal {
        account: usize,
    },
    Unseal {
        account: usize,
    },
    Blocks(u8),
    Pop,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let acc = 0..ACCOUNTS;
    prop_oneof![
        6 => (acc.clone(), acc.clone(), 1u16..1000, any::<bool>(), any::<bool>()).prop_map(
            |(from, to, per_mille, public, to_address)| Op::Pay { from, to, per_mille, public, to_address }
        ),
        3 => (acc.clone(), 1u16..500).prop_map(|(from, per_mille)| Op::Stake { from, per_mille }),
        3 => (acc.clone(), 1u16..1000).prop_map(|(from, per_mille)| Op::Unstake { from, per_mille }),
        1 => acc.clone().prop_map(|from| Op::UnstakeAll { from }),
        2 => acc.clone().prop_map(|from| Op::RestakeAll { from }),
        2 => acc.clone().prop_map(|from| Op::Cloak { from }),
        1 => acc.clone().prop_map(|account| Op::NewAddress { account }),
        1 => acc.clone().prop_map(|account| Op::Seal { account }),
        3 => acc.clone().prop_map(|account| Op::Unseal { account }),
        5 => (1u8..25).prop_map(Op::Blocks),
        1 => Just(Op::Pop),
        1 => Just(Op::Restart),
    ]
}

fn call(net: &mut Net, account: usize, kind: RequestKind) -> ServerMessage {
    let replies = net.request(
        0,
        1,
        Request {
            id: 5,
            account_id: Some((account + 1).to_string()),
            kind,
        },
    );
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies.into_iter().next().unwrap()
}

fn balance(net: &mut Net, account: usize) -> Option<Balance> {
    match call(net, account, RequestKind::BalanceInfo).kind {
        ServerKind::BalanceInfo(b) => Some(b),
        _ => None,
    }
}

fn pay(recipient: String, amount: i64) -> Payment {
    Payment {
        recipient,
        amount,
        payment_fee: 1000,
        comment: "p".into(),
        locked_timestamp: None,
        with_certificate: amount % 2 == 0,
    }
}

/// Everything that must hold after every step.
fn check(net: &mut Net) {
    let ledger = &net.node(0).chain().ledger;
    assert_eq!(ledger.total(), ledger.expected_supply(), "supply");
    for account in 0..ACCOUNTS {
        let id = (account + 1).to_string();
        if !net.node(0).wallet().is_unsealed(&id) {
            continue;
        }
        let b = balance(net, account).expect("unsealed: balance_info answers");
        for (kind, a) in [
            ("payment", b.payment),
            ("public_payment", b.public_payment),
            ("stake", b.stake),
        ] {
            assert!(
                a.available >= 0 && a.available <= a.current,
                "{id} {kind}: {a:?}"
            );
        }
        assert_eq!(
            b.current,
            b.payment.current + b.public_payment.current + b.stake.current
        );
        assert_eq!(
            b.available,
            b.payment.available + b.public_payment.available + b.stake.available
        );
        let ServerKind::UnspentInfo(u) = call(net, account, RequestKind::UnspentInfo).kind else {
            panic!("unspent_info")
        };
        assert_eq!(
            b.payment.current,
            u.payments.iter().map(|p| p.amount).sum::<i64>()
        );
        assert_eq!(
            b.public_payment.current,
            u.public_payments.iter().map(|p| p.amount).sum::<i64>()
        );
        assert_eq!(
            b.stake.current,
            u.stakes.iter().map(|p| p.amount).sum::<i64>()
        );
        // The ledger agrees: the outputs of the account's keys.
        let mut keys = vec![net.node(0).wallet().account_pkey(&id).unwrap()];
        if let ServerKind::PublicAddressesInfo(a) =
            call(net, account, RequestKind::PublicAddressesInfo).kind
        {
            keys.extend(
                a.public_addresses
                    .values()
                    .map(|p| PublicKey::from_bech32(&p.address, Network::Dev).unwrap()),
            );
        }
        let owned: i64 = net
            .node(0)
            .chain()
            .ledger
            .iter()
            .filter(|(_, o)| keys.contains(o.output.owner()))
            .map(|(_, o)| o.output.amount())
            .sum();
        assert_eq!(owned, b.current, "account {id} against the ledger");
    }
}

fn run(ops: &[Op], restaking: bool) {
    let mut net = Net::new(
        ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        1,
        7,
    );
    for password in &PASSWORDS[1..] {
        net.request(
            0,
            1,
            Request::new(RequestKind::CreateAccount(CreateAccount {
                password: (*password).into(),
            })),
        );
    }
    if !restaking {
        // Without automatic restaking, stakes expire and can be unstaked or restaked by hand.
        net.request(0, 1, Request::new(RequestKind::DisableRestaking));
    }
    // Give the other accounts something to spend.
    for to in 1..ACCOUNTS {
        let pk = net
            .node(0)
            .wallet()
            .account_pkey(&(to + 1).to_string())
            .unwrap()
            .to_bech32(Network::Dev);
        call(&mut net, 0, RequestKind::Payment(pay(pk, 10_000 * STG)));
    }
    net.run_for(1);
    check(&mut net);
    for op in ops {
        let available =
            |net: &mut Net, a: usize| balance(net, a).map_or(STG, |b| b.payment.available);
        let scaled = |x: i64, per_mille: u16| (x / 1000 * per_mille as i64).max(1);
        let reply = match op {
            Op::Pay {
                from,
                to,
                per_mille,
                public,
                to_address,
            } => {
                let to_id = (to + 1).to_string();
                let mut recipient = net.node(0).wallet().account_pkey(&to_id).unwrap();
                if *to_address && net.node(0).wallet().is_unsealed(&to_id) {
                    if let ServerKind::PublicAddressesInfo(a) =
                        call(&mut net, *to, RequestKind::PublicAddressesInfo).kind
                    {
                        if let Some(p) = a.public_addresses.values().next() {
                            recipient = PublicKey::from_bech32(&p.address, Network::Dev).unwrap();
                        }
                    }
                }
                let amount = scaled(available(&mut net, *from), *per_mille);
                let p = pay(recipient.to_bech32(Network::Dev), amount);
                let kind = if *public {
                    RequestKind::PublicPayment(p)
                } else {
                    RequestKind::Payment(p)
                };
                Some(call(&mut net, *from, kind))
            }
            Op::Stake { from, per_mille } => {
                let amount = scaled(available(&mut net, *from), *per_mille);
                Some(call(
                    &mut net,
                    *from,
                    RequestKind::Stake(StakeAmount {
                        amount,
                        payment_fee: 1000,
                    }),
                ))
            }
            Op::Unstake { from, per_mille } => {
                let stake = balance(&mut net, *from).map_or(STG, |b| b.stake.available);
                Some(call(
                    &mut net,
                    *from,
                    RequestKind::Unstake(StakeAmount {
                        amount: scaled(stake, *per_mille),
                        payment_fee: 1000,
                    }),
                ))
            }
            Op::UnstakeAll { from } => Some(call(
                &mut net,
                *from,
                RequestKind::UnstakeAll(UnstakeAll { payment_fee: None }),
            )),
            Op::RestakeAll { from } => Some(call(&mut net, *from, RequestKind::RestakeAll)),
            Op::Cloak { from } => Some(call(
                &mut net,
                *from,
                RequestKind::CloakAll(CloakAll { payment_fee: 1000 }),
            )),
            Op::NewAddress { account } => {
                Some(call(&mut net, *account, RequestKind::CreatePublicAddress))
            }
            Op::Seal { account } => Some(call(&mut net, *account, RequestKind::Seal)),
            Op::Unseal { account } => Some(call(
                &mut net,
                *account,
                RequestKind::Unseal(Unseal {
                    password: PASSWORDS[*account].into(),
                }),
            )),
            Op::Blocks(n) => {
                net.run_for(u64::from(*n));
                None
            }
            Op::Pop => {
                net.request(0, 1, Request::new(RequestKind::PopMicroBlock));
                None
            }
            Op::Restart => {
                net.crash(0);
                net.restart(0);
                None
            }
        };
        if let Some(ServerMessage {
            kind: ServerKind::Error(e),
            ..
        }) = &reply
        {
            let code = e.code.clone().unwrap();
            assert!(
                matches!(
                    code,
                    ErrorCode::NotEnoughMoney
                        | ErrorCode::InvalidAmount
                        | ErrorCode::AccountSealed
                        | ErrorCode::AlreadySealed
                        | ErrorCode::AlreadyUnsealed
                        | ErrorCode::NotFound
                ),
                "{op:?} -> {e:?}"
            );
        }
        check(&mut net);
    }
}

proptest! {
    // Each case builds a node and runs up to 40 steps with blocks: keep the count modest.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_wallet_calls_keep_balances_consistent(
        ops in prop::collection::vec(op(), 1..40),
        restaking in any::<bool>(),
    ) {
        run(&ops, restaking);
    }
}
