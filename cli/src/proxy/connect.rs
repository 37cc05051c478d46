//! The proxy's connections to its upstream: TCP, a Unix socket file, or TCP sockets made in the
//! app's network namespace (`crossguard run`). Whatever the way, the bytes on it are the same.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tower_service::Service;

use super::upstream::Via;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens connections to the upstream, the way its [`Via`] says.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector,
    /// The upstream's origin, which the TCP connector resolves and connects to.
    origin: Uri,
    via: Via,
    connect_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(origin: Uri, via: Via, connect_timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_nodelay(true);
        Self {
            tcp,
            origin,
            via,
            connect_timeout,
        }
    }

    /// A new connection to the upstream.
    pub(crate) fn connect(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<UpstreamStream, BoxError>> + Send>> {
        let timeout = self.connect_timeout;
        match &self.via {
            Via::Tcp => {
                // Names are resolved on every new connection, addresses tried in turn, each
                // within the connect timeout.
                let connecting = self.tcp.clone().call(self.origin.clone());
                Box::pin(async move {
                    let io = connecting.await?;
                    Ok(UpstreamStream::Tcp(io.into_inner()))
                })
            }
            #[cfg(unix)]
            Via::Unix(path) => {
                let path = std::sync::Arc::clone(path);
                Box::pin(async move {
                    let stream = within(timeout, tokio::net::UnixStream::connect(&*path))
                        .await
                        .map_err(|err| {
                            io::Error::new(err.kind(), format!("{}: {err}", path.display()))
                        })?;
                    Ok(UpstreamStream::Unix(stream))
                })
            }
            Via::Sockets { source, addr } => {
                let socket = source.socket();
                let addr = *addr;
                Box::pin(async move {
                    let stream = within(timeout, async move {
                        let socket = TcpSocket::from_std_stream(socket.await?);
                        socket.connect(addr).await
                    })
                    .await?;
                    let _ = stream.set_nodelay(true);
                    Ok(UpstreamStream::Tcp(stream))
                })
            }
        }
    }
}

/// `connecting`, or a `TimedOut` error past `timeout`.
async fn within<T>(
    timeout: Duration,
    connecting: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(timeout, connecting).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no connection within --connect-timeout",
        )),
    }
}

/// A connection to the upstream.
#[derive(Debug)]
pub(crate) enum UpstreamStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for UpstreamStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(unix)]
            Self::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(unix)]
            Self::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Self::Unix(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(stream) => stream.is_write_vectored(),
            #[cfg(unix)]
            Self::Unix(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(unix)]
            Self::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            #[cfg(unix)]
            Self::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
