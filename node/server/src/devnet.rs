//! A local network in one process: `--validators` nodes on the real clock, their peer
//! traffic on loopback TCP, the API of node 0 (or of every node) served over WebSocket.
//!
//! Data directory layout:
//! ```text
//! DIR/api.token        the API token (created before the API listens)
//! DIR/access.toml      optional access keys (see `server::access`)
//! DIR/genesis.toml     the chain's genesis time and seed, fixed at the first start
//! DIR/node-<i>.redb    node i's durable state
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::access::AccessList;
use crate::api::{ApiContext, ServerLimits, serve};
use crate::clock::{Clock, TokioClock};
use crate::disk_store::DiskStore;
use crate::driver::{self, Connections};
use crate::peer::{TcpPeers, listen};
use stegosim_api::token::TOKEN_FILE_NAME;
use stegosim_node::config::ChainConfig;
use stegosim_node::node::{Node, NodeConfig};
use stegosim_node::rng::Seed;

/// How to run a local network.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// The chain (preset plus overrides); its genesis time and seed are replaced by those
    /// fixed in `DIR/genesis.toml` at the first start.
    pub chain: ChainConfig,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Where node 0's API listens.
    pub api_endpoint: SocketAddr,
    /// Serve every node's API, node i on the endpoint's port + i.
    pub api_endpoint_all: bool,
    /// Number of nodes (each a genesis validator while there are genesis validators).
    pub validators: u32,
    /// API server limits.
    pub limits: ServerLimits,
    /// Access file (default `DIR/access.toml`).
    pub access_file: Option<PathBuf>,
    /// Password of account "1" of node 0 (the genesis funds) at the first start.
    pub genesis_password: String,
}

/// What a started network tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    /// The API endpoints actually bound (node 0 first).
    pub api_endpoints: Vec<SocketAddr>,
    /// The token file.
    pub token_file: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    /// Genesis time, ns since the Unix epoch.
    genesis_time_ns: u64,
    /// Genesis seed.
    genesis_seed: u64,
    /// Chain name, to refuse a data directory of another chain.
    chain: String,
}

/// Reads `DIR/genesis.toml`, or writes it with the current time at the first start.
fn fix_genesis(dir: &Path, chain: &mut ChainConfig, now_ns: u64) -> Result<(), String> {
    let path = dir.join("genesis.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let g: GenesisFile =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            if g.chain != chain.name {
                return Err(format!(
                    "{} belongs to chain {:?}, not {:?}: use another --data-dir",
                    dir.display(),
                    g.chain,
                    chain.name
                ));
            }
            chain.genesis_time_ns = g.genesis_time_ns;
            chain.genesis_seed = g.genesis_seed;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Whole seconds, so the file reads well.
            chain.genesis_time_ns = now_ns / 1_000_000_000 * 1_000_000_000;
            let g = GenesisFile {
                genesis_time_ns: chain.genesis_time_ns,
                genesis_seed: chain.genesis_seed,
                chain: chain.name.clone(),
            };
            let text = toml::to_string(&g).map_err(|e| e.to_string())?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    Ok(())
}

fn os_seed() -> Seed {
    let mut b = [0u8; 8];
    // Without OS randomness the node still runs; its draws are then only less surprising.
    #[allow(clippy::disallowed_methods)] // the real node's seed: unpredictable on purpose
    let _ = getrandom::fill(&mut b);
    Seed(u64::from_le_bytes(b))
}

/// One loopback listener per node for peer links, and their addresses.
async fn bind_peer_listeners(n: u32) -> Result<(Vec<TcpListener>, Vec<SocketAddr>), String> {
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..n {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot bind a loopback port for peers: {e}"))?;
        addrs.push(l.local_addr().map_err(|e| e.to_string())?);
        listeners.push(l);
    }
    Ok((listeners, addrs))
}

/// Node `i`'s API address: the configured endpoint's port plus `i` (port 0 stays 0: the
/// system picks a free port for every node).
fn api_addr(endpoint: SocketAddr, i: u32) -> SocketAddr {
    let offset = if endpoint.port() == 0 { 0 } else { i as u16 };
    SocketAddr::new(endpoint.ip(), endpoint.port().saturating_add(offset))
}

/// Starts the network and returns once every API endpoint listens; the network runs until
/// `shutdown` resolves, then every node's store is synced and the function returns.
pub async fn run(
    cfg: DevnetConfig,
    ready: impl FnOnce(&Started),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            cfg.data_dir.display()
        )
    })?;
    let token = crate::token_file::load_or_create(&cfg.data_dir).map_err(|e| e.to_string())?;
    let access_path = cfg
        .access_file
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("access.toml"));
    let access = AccessList::load(token, &access_path)?;
    let clock = TokioClock::wall();
    let mut chain = cfg.chain.clone();
    fix_genesis(&cfg.data_dir, &mut chain, clock.now_ns())?;
    chain
        .validate()
        .map_err(|e| format!("chain configuration: {e}"))?;
    let clock: Arc<dyn Clock> = Arc::new(clock);
    let n = cfg.validators.max(1);

    // Peer listeners first, so every address is known before links connect.
    let (peer_listeners, peer_addrs) = bind_peer_listeners(n).await?;
    let peers = Arc::new(TcpPeers::connect_all(&peer_addrs));
    let next_conn = Arc::new(AtomicU64::new(1));
    let mut drivers = Vec::new();
    let mut endpoints = Vec::new();
    let mut tasks = Vec::new();
    for (i, peer_listener) in peer_listeners.into_iter().enumerate() {
        let i = i as u32;
        let store = DiskStore::open(&cfg.data_dir.join(format!("node-{i}.redb")))
            .map_err(|e| e.to_string())?;
        let mut node_cfg = NodeConfig::genesis_node(chain.clone(), i, os_seed());
        if i == 0 {
            node_cfg.wallet.genesis_account_password = Some(cfg.genesis_password.clone());
        }
        let node = Node::new(node_cfg, Box::new(store), clock.now_ns())
            .map_err(|e| format!("node {i}: {e}"))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let conns: Connections = Default::default();
        tasks.push(tokio::spawn(listen(peer_listener, tx.clone())));
        drivers.push(tokio::spawn(driver::run(
            node,
            rx,
            peers.clone(),
            conns.clone(),
            clock.clone(),
        )));
        if i == 0 || cfg.api_endpoint_all {
            let addr = api_addr(cfg.api_endpoint, i);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            endpoints.push(listener.local_addr().map_err(|e| e.to_string())?);
            let ctx = ApiContext::new(
                tx.clone(),
                conns,
                access.clone(),
                cfg.limits.clone(),
                clock.clone(),
                next_conn.clone(),
            );
            tasks.push(tokio::spawn(serve(listener, ctx)));
        }
    }
    ready(&Started {
        api_endpoints: endpoints,
        token_file: cfg.data_dir.join(TOKEN_FILE_NAME),
    });
    shutdown.await;
    tracing::info!("shutting down");
    for t in &tasks {
        t.abort();
    }
    for d in &drivers {
        d.abort();
    }
    Ok(())
}
