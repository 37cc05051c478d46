//! WebSocket through the proxy: the byte tunnel once both sides have switched protocols.
//!
//! The upstream negotiates subprotocol and permessage-deflate end to end; the proxy only makes
//! sure its `101` is one a browser would accept for the offer the guard allowed
//! ([`crossguard::websocket::Offer`]), before the tunnel opens.

use std::sync::Arc;
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::OwnedSemaphorePermit;

/// After one direction of a tunnel ends, how long the other gets to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Relays bytes both ways between the client and the upstream once both connections have
/// switched protocols; when one direction ends, the other gets [`CLOSE_GRACE`], then both are
/// closed. `slot` keeps the connection counted until then.
pub(crate) fn tunnel(
    client: OnUpgrade,
    upstream: OnUpgrade,
    slot: Arc<OwnedSemaphorePermit>,
    upstream_slot: OwnedSemaphorePermit,
) {
    tokio::spawn(async move {
        // Both the client's connection slot and the upstream slot stay taken while it is open.
        let _slots = (slot, upstream_slot);
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(err) => {
                eprintln!("crossguard: websocket tunnel not established: {err}");
                return;
            }
        };
        let (mut client_read, mut client_write) = tokio::io::split(TokioIo::new(client));
        let (mut upstream_read, mut upstream_write) = tokio::io::split(TokioIo::new(upstream));
        let to_upstream = async {
            let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
            let _ = upstream_write.shutdown().await;
        };
        let to_client = async {
            let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
            let _ = client_write.shutdown().await;
        };
        tokio::pin!(to_upstream, to_client);
        tokio::select! {
            () = &mut to_upstream => {
                let _ = tokio::time::timeout(CLOSE_GRACE, &mut to_client).await;
            }
            () = &mut to_client => {
                let _ = tokio::time::timeout(CLOSE_GRACE, &mut to_upstream).await;
            }
        }
    });
}
