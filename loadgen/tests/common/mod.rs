//! Test helpers: a real node network in this process, access keys, and a scriptable fake
//! server for what a real node cannot do on demand (stall, notify).

#![allow(dead_code)] // Each test file uses a different part.

use std::net::SocketAddr;
use std::path::PathBuf;

use stegosim_loadgen::config::RunConfig;
use stegosim_loadgen::mix::RequestSpec;
use stegosim_node::config::ChainConfig;
use stegosim_server::devnet::{DevnetConfig, run};

/// A one-node network serving its API on a free loopback port, stopped on drop.
pub struct Node {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub token_file: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An access key to create before the node starts: (name, groups, rate limit).
pub type Key<'a> = (&'a str, &'a [&'a str], Option<&'a str>);

impl Node {
    /// Starts a node with these access keys; their key files are `dir/<name>.key`.
    pub async fn start(keys: &[Key<'_>]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        for (i, (name, groups, rate)) in keys.iter().enumerate() {
            let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
            let mut random = [7u8; 32];
            random[0] = i as u8;
            let key = stegosim_server::access::add_key(
                &dir.path().join("access.toml"),
                name,
                &groups,
                *rate,
                random,
            )
            .unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key).unwrap();
        }
        let cfg = DevnetConfig {
            chain: ChainConfig {
                genesis_validators: 1,
                ..ChainConfig::dev()
            },
            data_dir: dir.path().to_path_buf(),
            api_endpoint: "127.0.0.1:0".parse().unwrap(),
            api_endpoint_all: false,
            validators: 1,
            limits: Default::default(),
            access_file: None,
            genesis_password: "dev".into(),
        };
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(run(
            cfg,
            move |s| {
                let _ = ready_tx.send(s.api_endpoints[0]);
            },
            async move {
                let _ = stop_rx.await;
            },
        ));
        let addr = ready_rx.await.expect("the node starts");
        Node {
            url: format!("ws://{addr}"),
            token_file: dir.path().join("api.token"),
            dir,
            stop: Some(stop_tx),
        }
    }

    /// The key file of access key `name`.
    pub fn key_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.key"))
    }

    /// A configuration against this node with the full token and these requests.
    pub fn config(&self, requests: &[&str]) -> RunConfig {
        RunConfig {
            endpoint: Some(self.url.clone()),
            token_file: Some(self.token_file.clone()),
            requests: requests
                .iter()
                .map(|r| RequestSpec::parse_cli(r).unwrap())
                .collect(),
            connections: Some(2),
            ..Default::default()
        }
    }
}

/// How close `got` is to `want`, as a fraction.
pub fn off_by(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

/// What the fake server does besides answering `chain_name` to everything.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Stall once: after this long since the first request, hold the next answer (and so
    /// everything behind it) for `stall_for`.
    pub stall_after: Option<std::time::Duration>,
    /// How long the stall lasts.
    pub stall_for: std::time::Duration,
    /// Follow-up of payments: `transaction_status` accepted, prepared and committed after
    /// these delays; `secure_payment`: `snowball_status` succeeded after the first delay,
    /// then the response.
    pub tx_delays: Option<[std::time::Duration; 3]>,
}

/// A WebSocket server that speaks the API's framing with `token` and follows `script`.
pub async fn fake_server(token: stegosim_api::token::ApiToken, script: Script) -> SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    use stegosim_api::frame::FrameCodec;
    use stegosim_api::message::{
        ChainName, RequestKind, ServerKind, ServerMessage, SnowballState, SnowballStatus,
        TransactionCreated, TransactionStatus, TxStatus,
    };
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let codec = FrameCodec::new(&token);
            let script = script.clone();
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (mut sink, mut stream) = ws.split();
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ServerMessage>();
                let writer_codec = codec.clone();
                tokio::spawn(async move {
                    let (mut json, mut iv) = (Vec::new(), 1u128);
                    while let Some(m) = rx.recv().await {
                        let mut text = String::new();
                        iv += 1;
                        writer_codec.encode_server_message(
                            &m,
                            iv.to_be_bytes(),
                            &mut json,
                            &mut text,
                        );
                        if sink.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                });
                let mut plain = Vec::new();
                let mut first: Option<tokio::time::Instant> = None;
                let mut stalled = false;
                while let Some(Ok(msg)) = stream.next().await {
                    let Message::Text(t) = msg else { continue };
                    let Ok(req) = codec.decode_request(t.as_bytes(), &mut plain) else {
                        continue;
                    };
                    let start = *first.get_or_insert_with(tokio::time::Instant::now);
                    if let Some(after) = script.stall_after
                        && !stalled
                        && start.elapsed() >= after
                    {
                        stalled = true;
                        tokio::time::sleep(script.stall_for).await;
                    }
                    let account = req.account_id.clone();
                    let reply = |kind: ServerKind| {
                        let mut m = ServerMessage::new(kind);
                        m.id = req.id;
                        m.account_id = account.clone();
                        m
                    };
                    let notify = |kind: ServerKind| {
                        let mut m = ServerMessage::new(kind);
                        m.account_id = account.clone();
                        m
                    };
                    let created = |hash: &str| {
                        ServerKind::TransactionCreated(TransactionCreated {
                            tx_hash: hash.to_string(),
                            fee: 1000,
                            outputs: vec![],
                            inputs: vec![],
                            status: TxStatus::Created,
                        })
                    };
                    let status = |hash: &str, status| {
                        ServerKind::TransactionStatus(TransactionStatus {
                            tx_hash: hash.to_string(),
                            status,
                            epoch: None,
                            offset: None,
                            error: None,
                        })
                    };
                    match (&req.kind, script.tx_delays) {
                        (RequestKind::Payment(_), Some(delays)) => {
                            let hash = format!("{:064x}", req.id);
                            let _ = tx.send(reply(created(&hash)));
                            let tx = tx.clone();
                            let notes: Vec<ServerMessage> =
                                [TxStatus::Accepted, TxStatus::Prepared, TxStatus::Committed]
                                    .into_iter()
                                    .map(|s| notify(status(&hash, s)))
                                    .collect();
                            tokio::spawn(async move {
                                let t0 = tokio::time::Instant::now();
                                for (n, d) in notes.into_iter().zip(delays) {
                                    tokio::time::sleep_until(t0 + d).await;
                                    let _ = tx.send(n);
                                }
                            });
                        }
                        (RequestKind::SecurePayment(_), Some(delays)) => {
                            let hash = format!("{:064x}", req.id);
                            let _ = tx.send(notify(ServerKind::SnowballStatus(SnowballStatus {
                                state: SnowballState::PoolWait,
                                error: None,
                                session_id: None,
                                participants: None,
                            })));
                            let tx = tx.clone();
                            let done = notify(ServerKind::SnowballStatus(SnowballStatus {
                                state: SnowballState::Succeeded,
                                error: None,
                                session_id: None,
                                participants: None,
                            }));
                            let response = reply(created(&hash));
                            tokio::spawn(async move {
                                tokio::time::sleep(delays[0]).await;
                                let _ = tx.send(done);
                                let _ = tx.send(response);
                            });
                        }
                        _ => {
                            let _ = tx.send(reply(ServerKind::ChainName(ChainName {
                                name: "fake".into(),
                            })));
                        }
                    }
                }
            });
        }
    });
    addr
}
