//! `stegosim node`: a local network of nodes on the real clock, serving the WebSocket API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use stegosim_node::config::ChainConfig;
use stegosim_server::api::ServerLimits;
use stegosim_server::devnet::{DevnetConfig, run};

/// Arguments of `stegosim node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Chain preset: `dev` (1 s blocks, 10 per epoch) or `testnet`.
    #[arg(long, default_value = "dev")]
    chain: String,
    /// Data directory (token, access keys, chain state). Default: the platform's data
    /// directory + `stegosim` (e.g. ~/.local/share/stegosim).
    #[arg(long, env = "STEGOS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where node 0's WebSocket API listens.
    #[arg(
        long,
        env = "STEGOS_API_ENDPOINT",
        default_value = "127.0.0.1:3144",
        value_name = "ADDR"
    )]
    api_endpoint: SocketAddr,
    /// Serve every node's API too, node i on the endpoint's port + i.
    #[arg(long)]
    api_endpoint_all: bool,
    /// Nodes of the local network (genesis validators of the dev chain).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    validators: u32,
    /// Password of account "1" of node 0, which holds the genesis funds (set at the first
    /// start of a data directory).
    #[arg(long, default_value = "dev", value_name = "PASSWORD")]
    genesis_password: String,
    /// Access keys file (default DIR/access.toml; see `stegosim access`).
    #[arg(long, value_name = "FILE")]
    access_file: Option<PathBuf>,
    /// Largest number of API connections open at once.
    #[arg(long, default_value_t = ServerLimits::default().connections_max)]
    connections_max: usize,
    /// Requests of one connection handled at once (more wait their turn).
    #[arg(long, default_value_t = ServerLimits::default().in_flight_max)]
    in_flight_max: usize,
    /// Largest frame, in bytes.
    #[arg(long, default_value_t = ServerLimits::default().frame_bytes_max)]
    frame_bytes_max: usize,
    /// Bad frames before a connection is closed.
    #[arg(long, default_value_t = ServerLimits::default().strikes_max)]
    strikes_max: u32,
    /// Notifications queued for one slow connection before they are dropped (and counted in
    /// a `lagged` notification).
    #[arg(long, default_value_t = ServerLimits::default().notifications_queued_max)]
    notifications_queued_max: usize,
    /// More log output (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// The default data directory.
pub fn default_data_dir() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("stegosim"))
        .ok_or_else(|| anyhow!("no platform data directory: pass --data-dir"))
}

/// Sets up logging: quiet by default (warnings), more with -v.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEGOSIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs `stegosim node` until Ctrl-C.
pub fn run_node(args: NodeArgs) -> Result<ExitCode> {
    init_logging(args.verbose);
    let chain = ChainConfig::preset(&args.chain)
        .ok_or_else(|| anyhow!("unknown chain {:?}: use dev or testnet", args.chain))?;
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let cfg = DevnetConfig {
        chain,
        data_dir,
        api_endpoint: args.api_endpoint,
        api_endpoint_all: args.api_endpoint_all,
        validators: args.validators,
        limits: ServerLimits {
            connections_max: args.connections_max,
            in_flight_max: args.in_flight_max,
            frame_bytes_max: args.frame_bytes_max,
            strikes_max: args.strikes_max.max(1),
            notifications_queued_max: args.notifications_queued_max.max(1),
        },
        access_file: args.access_file,
        genesis_password: args.genesis_password,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let ready = |s: &stegosim_server::devnet::Started| {
            for (i, e) in s.api_endpoints.iter().enumerate() {
                eprintln!("node {i}: API on ws://{e}");
            }
            eprintln!("token: {}", s.token_file.display());
            eprintln!("press Ctrl-C to stop");
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        run(cfg, ready, shutdown).await.map_err(|e| anyhow!(e))
    })?;
    Ok(ExitCode::SUCCESS)
}
