//! The ring benchmark on turmoil: the same ring as [`crate::bench::ring`], but each host is a
//! turmoil host sending its 64 bytes to its neighbour over `turmoil::net` TCP, with a 1 ms
//! tick and latency drawn by turmoil between the bounds. The caller measures wall time.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::bench::{RING_NODES_MAX, RingOptions, RingReport};

/// Port every ring host listens on.
const RING_PORT: u16 = 9000;

/// Largest ring the turmoil benchmark builds (it steps every host on every tick).
pub const TURMOIL_RING_NODES_MAX: u32 = 2_000;

/// Runs the ring on turmoil. `events` counts the ticks times hosts turmoil stepped.
pub fn ring(o: &RingOptions) -> Result<RingReport, String> {
    if o.nodes < 2 || o.nodes > TURMOIL_RING_NODES_MAX.min(RING_NODES_MAX) {
        return Err(format!(
            "a turmoil ring needs 2 to {TURMOIL_RING_NODES_MAX} hosts, not {}",
            o.nodes
        ));
    }
    let tick = Duration::from_millis(1);
    let mut sim = turmoil::Builder::new()
        .rng_seed(o.seed)
        .epoch(UNIX_EPOCH)
        .tick_duration(tick)
        .simulation_duration(Duration::from_nanos(o.duration_ns) + Duration::from_secs(60))
        .min_message_latency(Duration::from_nanos(o.latency_ns_min))
        .max_message_latency(Duration::from_nanos(o.latency_ns_max))
        .build();
    let received = Arc::new(AtomicU64::new(0));
    let name = |i: u32| format!("r{i}");
    let addrs: Vec<SocketAddr> = (0..o.nodes)
        .map(|i| SocketAddr::new(sim.lookup(name(i)), RING_PORT))
        .collect();
    for i in 0..o.nodes {
        let to = addrs[((i + 1) % o.nodes) as usize];
        let received = received.clone();
        let (interval, payload) = (Duration::from_nanos(o.interval_ns), o.payload_bytes);
        // The first send of each host is staggered over one interval, as in the `des` ring.
        let stagger = Duration::from_nanos(
            (o.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) % o.interval_ns.max(1),
        );
        sim.host(name(i), move || {
            ring_host(to, received.clone(), stagger, interval, payload)
        });
    }
    let mut ticks = 0u64;
    while (sim.elapsed().as_nanos() as u64) < o.duration_ns {
        sim.step().map_err(|e| format!("a ring host failed: {e}"))?;
        ticks += 1;
    }
    let bytes = received.load(Ordering::Relaxed);
    Ok(RingReport {
        simulated_ns: sim.elapsed().as_nanos() as u64,
        events: ticks * o.nodes as u64,
        messages: bytes / o.payload_bytes.max(1) as u64,
        bytes,
    })
}

/// One ring host: counts what it receives, and after `stagger` sends `payload` bytes to `to`
/// every `interval`.
async fn ring_host(
    to: SocketAddr,
    received: Arc<AtomicU64>,
    stagger: Duration,
    interval: Duration,
    payload: usize,
) -> turmoil::Result {
    let l = turmoil::net::TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), RING_PORT)).await?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let received = received.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    received.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
    });
    tokio::time::sleep(stagger).await;
    let mut out = loop {
        match turmoil::net::TcpStream::connect(to).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    };
    let msg = vec![0xa5u8; payload];
    let mut every = tokio::time::interval(interval);
    loop {
        every.tick().await;
        out.write_all(&msg).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND_NS;

    #[test]
    fn turmoil_ring_delivers_about_one_message_per_host_per_interval() {
        let r = ring(&RingOptions {
            nodes: 4,
            duration_ns: SECOND_NS,
            ..RingOptions::default()
        })
        .unwrap();
        assert_eq!(r.simulated_ns, SECOND_NS);
        // 4 hosts x up to 100 sends, minus the staggered start and those in flight.
        assert!((300..=400).contains(&r.messages), "{}", r.messages);
        assert_eq!(r.bytes, r.messages * 64);
    }

    #[test]
    fn a_turmoil_ring_of_one_is_an_error() {
        let e = ring(&RingOptions {
            nodes: 1,
            ..RingOptions::default()
        })
        .unwrap_err();
        assert!(e.contains("2 to"), "{e}");
    }
}
