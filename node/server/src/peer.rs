//! The peer transport of a local network: every node listens on a loopback TCP port; for
//! each ordered pair of nodes one TCP connection carries the first's messages to the second.
//!
//! Wire format: the connecting node's id (u32, little endian), then messages as
//! `u32 length (little endian) || postcard(PeerMessage)`. A link that breaks reconnects with
//! a growing delay; messages sent while it is down are dropped (consensus tolerates loss: it
//! re-votes, and laggards sync).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::driver::{DriverInput, PeerOut};
use crate::net::{NetListener, NetStream};
use stegosim_node::node::{Dest, NodeId, PeerMessage};

/// Largest peer message accepted, in bytes (a sync response with many blocks is the largest).
pub const PEER_MESSAGE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Outgoing links of every node of a local network.
#[derive(Debug, Default)]
pub struct TcpPeers {
    /// (from, to) -> queue of the link's writer task.
    links: BTreeMap<(NodeId, NodeId), mpsc::UnboundedSender<Arc<PeerMessage>>>,
    /// Number of nodes.
    nodes: u32,
}

impl PeerOut for TcpPeers {
    fn send(&self, from: NodeId, to: Dest, msg: Arc<PeerMessage>) {
        let one = |t: NodeId| {
            if let Some(link) = self.links.get(&(from, t)) {
                // A closed link task means shutdown: dropping the message is right.
                let _ = link.send(msg.clone());
            }
        };
        match to {
            Dest::One(t) => one(t),
            Dest::All => (0..self.nodes).filter(|&t| t != from).for_each(one),
        }
    }
}

impl TcpPeers {
    /// Starts a writer task per ordered pair of nodes, connecting to `addrs[to]` over tokio's
    /// TCP.
    pub fn connect_all(addrs: &[SocketAddr]) -> TcpPeers {
        Self::connect_all_with::<tokio::net::TcpStream>(addrs)
    }

    /// The outgoing links of node `from` alone (one host of a simulation), over `S`.
    pub fn connect_from_with<S: NetStream>(from: NodeId, addrs: &[SocketAddr]) -> TcpPeers {
        let mut peers = TcpPeers {
            links: BTreeMap::new(),
            nodes: addrs.len() as u32,
        };
        for (to, addr) in addrs.iter().enumerate() {
            let to = to as u32;
            if to != from {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(link_writer::<S>(from, *addr, rx));
                peers.links.insert((from, to), tx);
            }
        }
        peers
    }

    /// As [`TcpPeers::connect_all`], over the stream type `S` (turmoil's under simulation).
    pub fn connect_all_with<S: NetStream>(addrs: &[SocketAddr]) -> TcpPeers {
        let mut peers = TcpPeers {
            links: BTreeMap::new(),
            nodes: addrs.len() as u32,
        };
        for from in 0..addrs.len() as u32 {
            for (to, addr) in addrs.iter().enumerate() {
                let to = to as u32;
                if to == from {
                    continue;
                }
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(link_writer::<S>(from, *addr, rx));
                peers.links.insert((from, to), tx);
            }
        }
        peers
    }
}

async fn link_writer<S: NetStream>(
    from: NodeId,
    addr: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Arc<PeerMessage>>,
) {
    let mut delay = Duration::from_millis(50);
    loop {
        let stream = match S::connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                tracing::trace!(from, %addr, error = %e, "peer link not up yet");
                // Drop what queued meanwhile, but keep the channel open.
                while rx.try_recv().is_ok() {}
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
                if rx.is_closed() {
                    return;
                }
                continue;
            }
        };
        delay = Duration::from_millis(50);
        let _ = stream.set_nodelay(true);
        let mut w = BufWriter::new(stream);
        if w.write_all(&from.to_le_bytes()).await.is_err() {
            continue;
        }
        let mut buf = Vec::new();
        loop {
            let Some(msg) = rx.recv().await else { return };
            // Batch what is queued, then flush once.
            let mut batch = vec![msg];
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
                if batch.len() >= 256 {
                    break;
                }
            }
            let mut failed = false;
            for m in batch {
                buf.clear();
                buf = postcard::to_extend(m.as_ref(), buf).unwrap_or_default();
                if buf.is_empty() {
                    continue;
                }
                if w.write_all(&(buf.len() as u32).to_le_bytes())
                    .await
                    .is_err()
                    || w.write_all(&buf).await.is_err()
                {
                    failed = true;
                    break;
                }
            }
            if failed || w.flush().await.is_err() {
                break;
            }
        }
    }
}

/// Accepts peer connections for node `to` and feeds their messages to its driver.
pub async fn listen<L: NetListener>(listener: L, driver: mpsc::UnboundedSender<DriverInput>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let driver = driver.clone();
        tokio::spawn(async move {
            if let Err(e) = read_link(stream, driver).await {
                tracing::debug!(error = %e, "peer link closed");
            }
        });
    }
}

async fn read_link<S: NetStream>(
    mut stream: S,
    driver: mpsc::UnboundedSender<DriverInput>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let from = stream.read_u32_le().await?;
    let mut buf = Vec::new();
    loop {
        let len = stream.read_u32_le().await? as usize;
        if len > PEER_MESSAGE_BYTES_MAX {
            return Err(std::io::Error::other(format!(
                "peer message of {len} bytes is over the limit"
            )));
        }
        buf.resize(len, 0);
        stream.read_exact(&mut buf).await?;
        match postcard::from_bytes::<PeerMessage>(&buf) {
            Ok(msg) => {
                if driver
                    .send(DriverInput::Peer {
                        from,
                        msg: Arc::new(msg),
                    })
                    .is_err()
                {
                    return Ok(());
                }
            }
            Err(e) => return Err(std::io::Error::other(format!("bad peer message: {e}"))),
        }
    }
}
