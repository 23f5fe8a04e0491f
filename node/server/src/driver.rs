//! One driver per node: the async loop that feeds the sans-IO [`Node`] and carries out what it
//! asks (send to peers, reply to API connections, sleep until its next timer).
//!
//! The driver owns the node. Everything reaches it through one channel ([`DriverInput`]), so
//! the node sees one input at a time, in arrival order. Its outputs go to the peer transport
//! ([`PeerOut`]) and to the registered API connections ([`Connections`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::clock::Clock;
use stegosim_api::message::{Request, ServerMessage};
use stegosim_node::node::{ConnId, Dest, Node, NodeId, Output, PeerMessage};

/// Inputs handled before the driver routes outputs and looks at its timers again.
pub const DRIVER_BATCH_MAX: usize = 256;

/// What a driver is told.
#[derive(Debug)]
pub enum DriverInput {
    /// A message from another node.
    Peer { from: NodeId, msg: Arc<PeerMessage> },
    /// An API request; the permit bounds the connection's requests in flight and is released
    /// once the node has handled the request.
    Request {
        conn: ConnId,
        req: Request,
        permit: Option<OwnedSemaphorePermit>,
    },
    /// An API connection closed.
    Closed(ConnId),
    /// The node was called outside the driver (the simulator submits a transaction or pops
    /// a block between two steps of its network): route its outputs and look at its timer
    /// again. The real node never sends this.
    Wake,
}

/// Where a connection's messages go: responses (never dropped) and notifications (dropped
/// past the queue's bound, counted, reported as `lagged`).
#[derive(Debug, Clone)]
pub struct ConnSink {
    /// Responses, and per-connection notifications of subscriptions.
    pub replies: mpsc::UnboundedSender<ServerMessage>,
    /// Broadcast notifications (wallet), bounded.
    pub notifications: mpsc::Sender<ServerMessage>,
    /// Notifications dropped since the last `lagged` was sent.
    pub dropped: Arc<AtomicU64>,
    /// Whether this connection may see wallet notifications (its key has the wallet group).
    pub wallet: bool,
}

/// The API connections of one node.
pub type Connections = Arc<Mutex<BTreeMap<ConnId, ConnSink>>>;

/// Where a node's peer messages go.
pub trait PeerOut: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `msg` from `from` to `to` (never blocks; drops when a link is down).
    fn send(&self, from: NodeId, to: Dest, msg: Arc<PeerMessage>);
}

/// Sees every output of a node before the driver routes it: the simulator's `turmoil`
/// engine traces node events through this. The real node has none (events are logged).
pub trait Observer: Send + Sync + std::fmt::Debug + 'static {
    /// Node `node` produced `out`.
    fn output(&self, node: NodeId, out: &Output);
}

/// Where a driver finds its node: the node itself (the real node), or a slot the simulator
/// shares with the driver, to read the node's state between steps of its network.
pub trait NodeSlot: Send + 'static {
    /// Calls `f` on the node; `None` when the slot is empty (the driver then stops).
    fn with<R>(&mut self, f: impl FnOnce(&mut Node) -> R) -> Option<R>;
}

impl NodeSlot for Node {
    fn with<R>(&mut self, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        Some(f(self))
    }
}

/// A node shared between a driver and a simulator (one thread at a time uses it).
pub type SharedNode = Arc<Mutex<Option<Node>>>;

impl NodeSlot for SharedNode {
    fn with<R>(&mut self, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        // A poisoned lock means a panic elsewhere; the node itself is still usable.
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .map(f)
    }
}

fn lock(conns: &Connections) -> std::sync::MutexGuard<'_, BTreeMap<ConnId, ConnSink>> {
    // A poisoned lock means a connection task panicked; the map itself is still consistent.
    conns.lock().unwrap_or_else(|e| e.into_inner())
}

fn route(
    node: &mut Node,
    peers: &dyn PeerOut,
    conns: &Connections,
    observer: Option<&dyn Observer>,
) {
    let id = node.id();
    while let Some(out) = node.poll_output() {
        if let Some(o) = observer {
            o.output(id, &out);
        }
        match out {
            Output::Send { to, msg } => peers.send(id, to, msg),
            Output::Event(e) => tracing::debug!(node = id, event = ?e),
            Output::Reply { conn, msg } => {
                if let Some(sink) = lock(conns).get(&conn) {
                    // A closed receiver means the connection is going away: nothing to do.
                    let _ = sink.replies.send(msg);
                }
            }
            Output::Broadcast(msg) => broadcast(conns, &msg),
        }
    }
}

/// Queues a wallet notification for every connection allowed to see it; a connection whose
/// queue is full loses it, and the loss is counted (its writer sends `lagged` with the count
/// before its next message).
pub fn broadcast(conns: &Connections, msg: &ServerMessage) {
    for sink in lock(conns).values().filter(|s| s.wallet) {
        if sink.notifications.try_send(msg.clone()).is_err() {
            sink.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs `node` until `inputs` closes. `clock` gives `now`; timers sleep on it.
pub async fn run(
    node: Node,
    inputs: mpsc::UnboundedReceiver<DriverInput>,
    peers: Arc<dyn PeerOut>,
    conns: Connections,
    clock: Arc<dyn Clock>,
) -> Node {
    run_in(node, inputs, peers, conns, clock, None).await
}

/// Runs the node in `slot` until `inputs` closes or the slot is found empty, showing every
/// output to `observer` first. [`run`] is this with the node itself and no observer.
pub async fn run_in<N: NodeSlot>(
    mut slot: N,
    mut inputs: mpsc::UnboundedReceiver<DriverInput>,
    peers: Arc<dyn PeerOut>,
    conns: Connections,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn Observer>>,
) -> N {
    let obs = observer.as_deref();
    if slot
        .with(|n| route(n, peers.as_ref(), &conns, obs))
        .is_none()
    {
        return slot;
    }
    while let Some(deadline) = slot.with(|n| n.poll_timeout().map(|(t, _)| t)) {
        let wake = deadline.map(|t| clock.instant_at(t));
        let input = match wake {
            Some(at) => tokio::select! {
                biased;
                i = inputs.recv() => i,
                _ = tokio::time::sleep_until(at) => {
                    let fired = slot.with(|n| {
                        n.handle_timeout(clock.now_ns());
                        route(n, peers.as_ref(), &conns, obs);
                    });
                    if fired.is_none() {
                        break;
                    }
                    continue;
                }
            },
            None => inputs.recv().await,
        };
        let Some(input) = input else { break };
        // Handle what is already queued before routing outputs: under load this turns one
        // wake-up per request into one per batch.
        let handled = slot.with(|node| {
            let mut next = Some(input);
            let mut handled = 0usize;
            while let Some(input) = next.take() {
                let now = clock.now_ns();
                match input {
                    DriverInput::Peer { from, msg } => node.handle_peer(now, from, &msg),
                    DriverInput::Request { conn, req, permit } => {
                        node.handle_request(now, conn, req);
                        drop(permit);
                    }
                    DriverInput::Closed(conn) => node.connection_closed(conn),
                    DriverInput::Wake => {}
                }
                handled += 1;
                if handled < DRIVER_BATCH_MAX {
                    next = inputs.try_recv().ok();
                }
            }
            route(node, peers.as_ref(), &conns, obs);
        });
        if handled.is_none() {
            break;
        }
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_api::message::{ServerKind, ServerMessage};

    #[test]
    fn a_full_notification_queue_drops_and_counts_and_skips_non_wallet_keys() {
        let conns: Connections = Default::default();
        let (reply_tx, _reply_rx) = mpsc::unbounded_channel();
        let (slow_tx, mut slow_rx) = mpsc::channel(2);
        let (node_tx, mut node_rx) = mpsc::channel(8);
        let slow = ConnSink {
            replies: reply_tx.clone(),
            notifications: slow_tx,
            dropped: Arc::new(AtomicU64::new(0)),
            wallet: true,
        };
        let node_only = ConnSink {
            replies: reply_tx,
            notifications: node_tx,
            dropped: Arc::new(AtomicU64::new(0)),
            wallet: false,
        };
        let dropped = slow.dropped.clone();
        conns.lock().unwrap().insert(1, slow);
        conns.lock().unwrap().insert(2, node_only);
        let msg = ServerMessage::new(ServerKind::Sealed);
        for _ in 0..5 {
            broadcast(&conns, &msg);
        }
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            3,
            "two fit the queue, three are counted as dropped"
        );
        assert!(
            slow_rx.try_recv().is_ok() && slow_rx.try_recv().is_ok() && slow_rx.try_recv().is_err()
        );
        assert!(
            node_rx.try_recv().is_err(),
            "a key without the wallet group sees no wallet notification"
        );
    }
}
