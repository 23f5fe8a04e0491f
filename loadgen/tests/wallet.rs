//! Setup and followed payments against a real node's wallet.
//!
//! The wallet is being added to the node (issue 4). Until `accounts_info` answers, this test
//! checks only that setup fails naming the step and the node's answer; once it answers, it
//! runs the whole flow: accounts created and funded from the genesis account, payments
//! between them followed through their statuses, balances read. The wallet-side assertions
//! are written against the API's shapes (PROTOCOL.md) and kept loose where the wallet's
//! behaviour is not known yet (e.g. how soon change is spendable again).

mod common;

use common::Node;
use stegosim_api::message::{ErrorCode, RequestKind, ServerKind};
use stegosim_api::token::ApiToken;
use stegosim_loadgen::client::Client;
use stegosim_loadgen::config::RunConfig;
use stegosim_loadgen::run::{RunError, RunOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_between_pool_accounts() {
    let node = Node::start(&[]).await;
    let mut cfg = RunConfig {
        rate: Some(10.0),
        duration: Some("3s".into()),
        graceful_stop: Some("3s".into()),
        ..node.config(&[
            "balance_info*4",
            r#"{"type":"payment","recipient":"{recipient}","amount":10,"payment_fee":1000}"#,
        ])
    };
    cfg.setup.accounts = 2;
    cfg.setup.fund_amount = 1_000_000;

    let token = ApiToken::load(&node.token_file).unwrap();
    let mut c = Client::connect(&node.url, &token).await.unwrap();
    let probe = c.call(RequestKind::AccountsInfo, None).await.unwrap();
    if let ServerKind::Error(e) = &probe.kind {
        assert_eq!(e.code, Some(ErrorCode::Internal), "{e:?}");
        let err = run(&cfg, RunOptions::default()).await.unwrap_err();
        assert!(matches!(err, RunError::Setup(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("create_account") && text.contains("internal"),
            "{text}"
        );
        eprintln!("the node's wallet is not built yet: checked the setup error only ({text})");
        return;
    }

    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let s = &r.summary;
    let pay = &r.counts["payment"];
    let balance = &r.counts["balance_info"];
    assert_eq!(balance.completed, balance.started, "{balance:?}");
    assert_eq!(
        pay.completed + pay.errors.values().sum::<u64>(),
        pay.started,
        "{pay:?}"
    );
    assert!(pay.completed > 0, "{pay:?}");
    assert!(s.follow["payment.accepted"].count > 0, "{:?}", s.follow);
    assert!(s.follow.contains_key("payment.prepared"), "{:?}", s.follow);
}
