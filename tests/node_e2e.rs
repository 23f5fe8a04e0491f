//! `stegosim node` as a user runs it: the built binary, a temporary data directory, a free
//! loopback port, the token file it writes, WebSocket clients over loopback.

// These tests talk to a real node on the wall clock: deadlines are real time.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stegosim_api::frame::FrameCodec;
use stegosim_api::message::{ChainPosition, ErrorCode, RequestKind, ServerKind, ServerMessage};
use stegosim_api::token::ApiToken;
use stegosim_loadgen::client::Client;
use tokio_tungstenite::tungstenite::Message;

/// A running `stegosim node`, killed on drop.
struct NodeProcess {
    child: Child,
    url: String,
    port: u16,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `stegosim node` on `port` (0: any free port, read back from its standard error,
/// so parallel tests never race for a port) and waits until the API accepts connections.
fn start(dir: &Path, port: u16) -> NodeProcess {
    start_with(dir, port, &[])
}

fn start_with(dir: &Path, port: u16, extra: &[&str]) -> NodeProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stegosim"))
        .args([
            "node",
            "--data-dir",
            dir.to_str().unwrap(),
            "--api-endpoint",
            &format!("127.0.0.1:{port}"),
            "--strikes-max",
            "3",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stegosim binary runs");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.strip_prefix("node 0: API on ws://") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("stegosim node printed its API address within 60 s");
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    // The token file is written before the API listens; poll the port.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "stegosim node did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.join("api.token").exists(),
        "the token file exists once the API listens"
    );
    NodeProcess {
        child,
        url: format!("ws://127.0.0.1:{port}"),
        port,
    }
}

fn token(dir: &Path) -> ApiToken {
    ApiToken::load(dir.join("api.token")).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn code(m: &ServerMessage) -> Option<ErrorCode> {
    match &m.kind {
        ServerKind::Error(e) => e.code.clone(),
        _ => None,
    }
}

const T: Duration = Duration::from_secs(20);

async fn status(c: &mut Client) -> stegosim_api::message::NodeStatus {
    match c.call(RequestKind::StatusInfo, None).await.unwrap().kind {
        ServerKind::StatusInfo(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn node_serves_status_multiplexing_chain_subscriptions_and_pop() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), 0);
    let token = token(dir.path());
    rt().block_on(async {
        let mut c = Client::connect(&node.url, &token).await.unwrap();
        let s = status(&mut c).await;
        assert_eq!(s.epoch, 1);

        // 200 requests in flight on one connection, answered and matched by id.
        let mut ids = Vec::new();
        for i in 0..200 {
            let kind = if i % 2 == 0 { RequestKind::StatusInfo } else { RequestKind::ChainName };
            ids.push(c.send(kind, None).await.unwrap());
        }
        for (i, id) in ids.iter().enumerate() {
            let m = c.reply(*id, T).await.unwrap();
            assert_eq!(m.id, *id);
            if i % 2 == 0 {
                assert!(matches!(m.kind, ServerKind::StatusInfo(_)), "{m:?}");
            } else {
                assert!(matches!(m.kind, ServerKind::ChainName(ref n) if n.name == "dev"), "{m:?}");
            }
        }

        // Wait for a few blocks, then subscribe with a replay from the epoch's start.
        let deadline = Instant::now() + T;
        while status(&mut c).await.offset < 3 {
            assert!(Instant::now() < deadline, "no blocks");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let epoch = status(&mut c).await.epoch;
        let m = c.call(RequestKind::SubscribeChain(ChainPosition { epoch, offset: 0 }), None).await.unwrap();
        let ServerKind::SubscribedChain(sc) = m.kind else { panic!("{m:?}") };
        for offset in 0..sc.current_offset.min(2) {
            let n = c.notification(|m| matches!(&m.kind, ServerKind::MicroBlockPrepared(b) if b.offset == offset), T).await.unwrap();
            assert!(matches!(n.kind, ServerKind::MicroBlockPrepared(_)));
        }
        // Live blocks follow.
        c.notification(|m| matches!(&m.kind, ServerKind::MicroBlockPrepared(b) if b.offset >= sc.current_offset || b.epoch > epoch), T)
            .await
            .unwrap();

        // pop_micro_block: popped, and a micro_block_reverted notification.
        let m = loop {
            let m = c.call(RequestKind::PopMicroBlock, None).await.unwrap();
            // At an epoch's very start there is nothing to pop; try again after a block.
            if code(&m) == Some(ErrorCode::NothingToPop) {
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
            break m;
        };
        assert!(matches!(m.kind, ServerKind::MicroBlockPopped), "{m:?}");
        c.notification(|m| matches!(m.kind, ServerKind::MicroBlockReverted(_)), T).await.unwrap();
    });
}

#[test]
fn bad_frames_never_cost_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), 0);
    let token = token(dir.path());
    rt().block_on(async {
        let mut good = Client::connect(&node.url, &token).await.unwrap();
        status(&mut good).await;

        // A well-encrypted bad request: an error naming the problem, echoing the id; the
        // connection stays usable.
        let codec = FrameCodec::new(&token);
        let mut bad = Client::connect(&node.url, &token).await.unwrap();
        status(&mut bad).await;
        for (json, needle, want) in [
            (
                r#"{"type":"no_such_request","id":77}"#,
                "no_such_request",
                ErrorCode::UnknownType,
            ),
            (
                r#"{"type":"macro_block_info","id":78}"#,
                "epoch",
                ErrorCode::MissingField,
            ),
            (
                r#"{"type":"macro_block_info","id":79,"epoch":"x"}"#,
                "epoch",
                ErrorCode::InvalidField,
            ),
        ] {
            bad.send_raw(Message::text(codec.encode(json.as_bytes(), [3; 16])))
                .await
                .unwrap();
            let id: u64 = serde_json::from_str::<serde_json::Value>(json).unwrap()["id"]
                .as_u64()
                .unwrap();
            let m = bad.reply(id, T).await.unwrap();
            assert_eq!(code(&m), Some(want), "{json}: {m:?}");
            let ServerKind::Error(e) = &m.kind else {
                unreachable!()
            };
            assert!(e.error.contains(needle), "{json}: {}", e.error);
        }
        status(&mut bad).await;

        // Strikes: not base64, too short, wrong key; the third closes with a reason.
        let other = FrameCodec::new(&ApiToken::from_bytes([9; 16]));
        bad.send_raw(Message::text("!!! not base64 !!!"))
            .await
            .unwrap();
        bad.send_raw(Message::text("AAAA")).await.unwrap();
        bad.send_raw(Message::text(
            other.encode(br#"{"type":"status_info"}"#, [1; 16]),
        ))
        .await
        .unwrap();
        let err = bad.recv().await.unwrap_err().to_string();
        assert!(err.contains("1008") && err.contains("bad frames"), "{err}");

        // A binary frame: an error reply, then a close with a reason.
        let mut bin = Client::connect(&node.url, &token).await.unwrap();
        status(&mut bin).await;
        bin.send_raw(Message::binary(vec![1u8, 2, 3]))
            .await
            .unwrap();
        let m = bin.recv().await.unwrap();
        assert_eq!(code(&m), Some(ErrorCode::BinaryFrame), "{m:?}");
        let err = bin.recv().await.unwrap_err().to_string();
        assert!(err.contains("1003") && err.contains("binary"), "{err}");

        // A connection whose first frame decrypts with no key is closed after its strikes.
        let mut stranger = Client::connect(&node.url, &ApiToken::from_bytes([5; 16]))
            .await
            .unwrap();
        for _ in 0..3 {
            stranger.send(RequestKind::StatusInfo, None).await.unwrap();
        }
        assert!(stranger.recv().await.is_err());

        // The node and the other connection still work.
        let s = status(&mut good).await;
        assert!(s.epoch >= 1);
        let mut again = Client::connect(&node.url, &token).await.unwrap();
        status(&mut again).await;
    });
}

async fn macro_hash(c: &mut Client, epoch: u64) -> String {
    let m = c
        .call(
            RequestKind::MacroBlockInfo(stegosim_api::message::MacroBlockQuery { epoch }),
            None,
        )
        .await
        .unwrap();
    match m.kind {
        ServerKind::MacroBlockInfo(b) => b.block_hash.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn restart_on_the_same_data_dir_keeps_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut port = 0;
    let (before, hash) = {
        let node = start(dir.path(), port);
        port = node.port;
        let token = token(dir.path());
        rt().block_on(async {
            let mut c = Client::connect(&node.url, &token).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(40);
            let s = loop {
                let s = status(&mut c).await;
                if s.epoch >= 2 {
                    break s;
                }
                assert!(
                    Instant::now() < deadline,
                    "the chain did not reach epoch 2: {s:?}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            };
            // A second account with a balance, to find again after the restart.
            let m = c
                .call(
                    RequestKind::CreateAccount(stegosim_api::message::CreateAccount {
                        password: "pw2".into(),
                    }),
                    None,
                )
                .await
                .unwrap();
            assert!(matches!(m.kind, ServerKind::AccountCreated), "{m:?}");
            (s, macro_hash(&mut c, 1).await)
        })
    };
    let node = start(dir.path(), port);
    assert_eq!(node.port, port);
    let token = token(dir.path());
    rt().block_on(async {
        let mut c = Client::connect(&node.url, &token).await.unwrap();
        let s = status(&mut c).await;
        assert!(
            s.epoch >= before.epoch,
            "epoch {} after restart, {} before",
            s.epoch,
            before.epoch
        );
        assert_eq!(macro_hash(&mut c, 1).await, hash, "the same chain");
        // Accounts are still there, sealed after the restart, and open with their passwords.
        let m = c.call(RequestKind::AccountsInfo, None).await.unwrap();
        let ServerKind::AccountsInfo(a) = m.kind else {
            panic!("{m:?}")
        };
        assert!(
            a.accounts.contains_key("1") && a.accounts.contains_key("2"),
            "{a:?}"
        );
        let m = c.call(RequestKind::BalanceInfo, Some("1")).await.unwrap();
        assert_eq!(
            code(&m),
            Some(ErrorCode::AccountSealed),
            "accounts start sealed: {m:?}"
        );
        let m = c
            .call(
                RequestKind::Unseal(stegosim_api::message::Unseal {
                    password: "dev".into(),
                }),
                Some("1"),
            )
            .await
            .unwrap();
        assert!(matches!(m.kind, ServerKind::Unsealed), "{m:?}");
        let m = c.call(RequestKind::BalanceInfo, Some("1")).await.unwrap();
        let ServerKind::BalanceInfo(b) = m.kind else {
            panic!("{m:?}")
        };
        assert!(
            b.current >= 1_000_000 * 1_000_000,
            "the genesis funds are still there: {b:?}"
        );
        let m = c
            .call(
                RequestKind::Unseal(stegosim_api::message::Unseal {
                    password: "pw2".into(),
                }),
                Some("2"),
            )
            .await
            .unwrap();
        assert!(matches!(m.kind, ServerKind::Unsealed), "{m:?}");
    });
}

#[test]
fn access_keys_groups_and_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_stegosim");
    let add = |name: &str, groups: &str, rate: Option<&str>| {
        let out = dir.path().join(format!("{name}.key"));
        let mut cmd = Command::new(bin);
        cmd.args([
            "access",
            "add",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--name",
            name,
            "--groups",
            groups,
            "--out",
            out.to_str().unwrap(),
        ]);
        if let Some(r) = rate {
            cmd.args(["--rate-limit", r]);
        }
        let status = cmd.status().unwrap();
        assert!(status.success());
        ApiToken::load(&out).unwrap()
    };
    let monitor = add("monitor", "node", None);
    let limited = add("limited", "node", Some("3/2s"));
    let node = start(dir.path(), 0);
    rt().block_on(async {
        let mut m = Client::connect(&node.url, &monitor).await.unwrap();
        status(&mut m).await;
        let r = m.call(RequestKind::AccountsInfo, None).await.unwrap();
        assert_eq!(code(&r), Some(ErrorCode::Forbidden), "{r:?}");
        let r = m.call(RequestKind::PopMicroBlock, None).await.unwrap();
        assert_eq!(code(&r), Some(ErrorCode::Forbidden), "{r:?}");

        let mut l = Client::connect(&node.url, &limited).await.unwrap();
        let mut served = 0;
        let mut limited_reply = None;
        for _ in 0..5 {
            let r = l.call(RequestKind::ChainName, None).await.unwrap();
            match code(&r) {
                None => served += 1,
                Some(ErrorCode::RateLimited) => limited_reply = Some(r),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(served, 3, "three requests fit the bucket");
        let r = limited_reply.expect("the fourth is refused");
        let ServerKind::Error(e) = &r.kind else {
            unreachable!()
        };
        assert!(e.error.contains("retry after"), "{}", e.error);
        // Served again after the window.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let r = l.call(RequestKind::ChainName, None).await.unwrap();
        assert_eq!(code(&r), None, "{r:?}");
    });
}

#[test]
fn accounts_unseal_and_a_payment_followed_to_committed() {
    use stegosim_api::message::{CreateAccount, Payment, TxStatus, Unseal};
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), 0);
    let token = token(dir.path());
    rt().block_on(async {
        let mut c = Client::connect(&node.url, &token).await.unwrap();
        // Account 1 holds the genesis funds and starts sealed after... it was just created at
        // the first start, so it is unsealed now; seal and unseal it with the dev password.
        let m = c.call(RequestKind::AccountsInfo, None).await.unwrap();
        let ServerKind::AccountsInfo(a) = m.kind else { panic!("{m:?}") };
        assert!(a.accounts.contains_key("1"), "{a:?}");
        let _ = c.call(RequestKind::Seal, Some("1")).await.unwrap();
        let m = c.call(RequestKind::BalanceInfo, Some("1")).await.unwrap();
        assert_eq!(code(&m), Some(ErrorCode::AccountSealed), "{m:?}");
        let m = c.call(RequestKind::Unseal(Unseal { password: "wrong".into() }), Some("1")).await.unwrap();
        assert_eq!(code(&m), Some(ErrorCode::InvalidPassword), "{m:?}");
        let m = c.call(RequestKind::Unseal(Unseal { password: "dev".into() }), Some("1")).await.unwrap();
        assert!(matches!(m.kind, ServerKind::Unsealed), "{m:?}");
        let m = c.call(RequestKind::BalanceInfo, Some("1")).await.unwrap();
        let ServerKind::BalanceInfo(b) = m.kind else { panic!("{m:?}") };
        assert!(b.available >= 1_000_000 * 1_000_000, "genesis funds: {b:?}");

        // A second account receives a payment.
        let m = c.call(RequestKind::CreateAccount(CreateAccount { password: "pw2".into() }), None).await.unwrap();
        assert!(matches!(m.kind, ServerKind::AccountCreated), "{m:?}");
        let id2 = m.account_id.clone().unwrap();
        let m = c.call(RequestKind::AccountInfo, Some(&id2)).await.unwrap();
        let ServerKind::AccountInfo(k) = m.kind else { panic!("{m:?}") };
        let pay = Payment {
            recipient: k.account_pkey.clone(),
            amount: 1_234_567,
            payment_fee: 1000,
            comment: "e2e".into(),
            locked_timestamp: None,
            with_certificate: false,
        };
        let m = c.call(RequestKind::Payment(pay), Some("1")).await.unwrap();
        let ServerKind::TransactionCreated(tx) = m.kind else { panic!("{m:?}") };
        let hash = tx.tx_hash.clone();
        for want in [TxStatus::Accepted, TxStatus::Prepared, TxStatus::Committed] {
            let h = hash.clone();
            c.notification(
                move |m| matches!(&m.kind, ServerKind::TransactionStatus(s) if s.tx_hash == h && s.status == want),
                Duration::from_secs(60),
            )
            .await
            .unwrap_or_else(|e| panic!("transaction {hash} never reached {want:?}: {e}"));
        }
        let m = c.call(RequestKind::BalanceInfo, Some(&id2)).await.unwrap();
        let ServerKind::BalanceInfo(b) = m.kind else { panic!("{m:?}") };
        assert_eq!(b.current, 1_234_567);
    });
}

#[test]
fn connection_cap_refuses_with_a_reason_and_genesis_password_is_honoured() {
    use stegosim_api::message::Unseal;
    let dir = tempfile::tempdir().unwrap();
    let node = start_with(
        dir.path(),
        0,
        &["--connections-max", "2", "--genesis-password", "s3cret"],
    );
    let token = token(dir.path());
    rt().block_on(async {
        let mut a = Client::connect(&node.url, &token).await.unwrap();
        let mut b = Client::connect(&node.url, &token).await.unwrap();
        status(&mut a).await;
        status(&mut b).await;
        let mut c = Client::connect(&node.url, &token).await.unwrap();
        let err = c.recv().await.unwrap_err().to_string();
        assert!(
            err.contains("1013") && err.contains("too many connections"),
            "{err}"
        );
        // Account 1 was sealed under the given password.
        let _ = a.call(RequestKind::Seal, Some("1")).await.unwrap();
        let m = a
            .call(
                RequestKind::Unseal(Unseal {
                    password: "dev".into(),
                }),
                Some("1"),
            )
            .await
            .unwrap();
        assert_eq!(code(&m), Some(ErrorCode::InvalidPassword), "{m:?}");
        let m = a
            .call(
                RequestKind::Unseal(Unseal {
                    password: "s3cret".into(),
                }),
                Some("1"),
            )
            .await
            .unwrap();
        assert!(matches!(m.kind, ServerKind::Unsealed), "{m:?}");
    });
}
