//! Helpers shared by the command-line tests (each test file uses some of them).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use stegosim_node::config::ChainConfig;
use stegosim_server::devnet::{DevnetConfig, run};

/// A one-node network in a thread of this process; returns its URL and keeps it running
/// until the stop sender is dropped.
pub fn start_node(dir: &Path) -> (String, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let cfg = DevnetConfig {
        chain: ChainConfig {
            genesis_validators: 1,
            ..ChainConfig::dev()
        },
        data_dir: dir.to_path_buf(),
        api_endpoint: "127.0.0.1:0".parse().unwrap(),
        api_endpoint_all: false,
        validators: 1,
        limits: Default::default(),
        access_file: None,
        genesis_password: "dev".into(),
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(
            cfg,
            move |s| {
                let _ = addr_tx.send(s.api_endpoints[0]);
            },
            async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            },
        ))
        .unwrap();
    });
    let addr = addr_rx.recv().expect("the node starts");
    (format!("ws://{addr}"), stop_tx)
}

/// Runs the built `stegosim` with `args`.
pub fn stegosim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stegosim"))
        .args(args)
        .output()
        .expect("the stegosim binary runs")
}

/// Runs the built `stegosim` with `args` in folder `cwd`.
pub fn stegosim_in(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stegosim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

/// Bytes of an output stream as text.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Its exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited with a code")
}

/// Its output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
