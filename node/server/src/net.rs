//! The TCP types the drivers run on: tokio's for the real node, turmoil's for the
//! simulator's `turmoil` engine.
//!
//! The peer transport ([`crate::peer`]) and the API server ([`crate::api`])
//! are generic over these two traits, so the very same code serves real loopback sockets and
//! turmoil's simulated network (`turmoil::net`), where time, delivery and partitions are
//! the simulation's.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// A connected byte stream that can be opened to an address.
pub trait NetStream: AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static {
    /// Opens a connection to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self>> + Send;
    /// Disables Nagle's algorithm (a no-op where there is none).
    fn set_nodelay(&self, on: bool) -> io::Result<()>;
}

/// A bound listener handing out streams.
pub trait NetListener: Send + Sync + 'static {
    /// The streams it accepts.
    type Stream: NetStream;
    /// Waits for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

impl NetStream for tokio::net::TcpStream {
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self>> + Send {
        tokio::net::TcpStream::connect(addr)
    }
    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        tokio::net::TcpStream::set_nodelay(self, on)
    }
}

impl NetListener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send {
        tokio::net::TcpListener::accept(self)
    }
}

#[cfg(feature = "turmoil")]
impl NetStream for turmoil::net::TcpStream {
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self>> + Send {
        turmoil::net::TcpStream::connect(addr)
    }
    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        turmoil::net::TcpStream::set_nodelay(self, on)
    }
}

#[cfg(feature = "turmoil")]
impl NetListener for turmoil::net::TcpListener {
    type Stream = turmoil::net::TcpStream;
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send {
        turmoil::net::TcpListener::accept(self)
    }
}
