//! The control socket between crossguard and its helper in the namespace: a `SOCK_SEQPACKET`
//! pair, one message per request or answer, a descriptor riding along where one is handed over.
//!
//! From crossguard: `G` (start the app), `S` (a fresh TCP socket, please), `K` + signal number.
//! From the helper: `L` + descriptor (the egress proxy's listener), `F` + descriptor (a socket),
//! `E` + errno (no socket), `X` + status (the app has exited; 128+N for signal N).

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use tokio::sync::{oneshot, watch};

use crate::proxy::upstream::SocketSource;

/// The largest message: a kind byte and a 4-byte argument.
const MAX_MESSAGE: usize = 5;

/// A connected pair: one end for crossguard, one for the helper.
pub(super) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?)
}

/// Sends one message, with `fd` attached when given.
pub(super) fn send(socket: impl AsFd, message: &[u8], fd: Option<&OwnedFd>) -> io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let borrowed;
    if let Some(fd) = fd {
        borrowed = [fd.as_fd()];
        if !control.push(SendAncillaryMessage::ScmRights(&borrowed)) {
            return Err(io::Error::other(
                "a descriptor does not fit the control message",
            ));
        }
    }
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(message)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// One message received: its bytes and the descriptor it carried; `None` once the peer is gone.
pub(super) fn recv(socket: impl AsFd) -> io::Result<Option<(Vec<u8>, Option<OwnedFd>)>> {
    let mut bytes = [0u8; MAX_MESSAGE];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = loop {
        match rustix::net::recvmsg(
            &socket,
            &mut [IoSliceMut::new(&mut bytes)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Err(rustix::io::Errno::INTR) => {}
            other => break other?,
        }
    };
    // Every descriptor that came is owned here, so none leaks whatever the message says.
    let mut fd = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for received_fd in fds {
                fd.get_or_insert(received_fd);
            }
        }
    }
    if received.bytes == 0 {
        return Ok(None);
    }
    let length = received.bytes.min(MAX_MESSAGE);
    Ok(Some((bytes.get(..length).unwrap_or(&[]).to_vec(), fd)))
}

/// The status in an `X` message.
pub(super) fn status_message(status: u8) -> [u8; 2] {
    [b'X', status]
}

/// Crossguard's side of the control socket once the app runs: hands out sockets made in the
/// namespace, sends signals, and learns when the app exits.
#[derive(Debug)]
pub(super) struct Broker {
    socket: Arc<OwnedFd>,
    /// The requests for sockets, in the order they were sent (answers come in that order).
    waiting: Mutex<VecDeque<oneshot::Sender<io::Result<std::net::TcpStream>>>>,
}

impl Broker {
    /// Starts reading the helper's answers on a thread of its own; `exited` gets the app's
    /// status (`None`: the helper is gone without saying).
    pub(super) fn start(socket: OwnedFd, exited: watch::Sender<Option<Option<u8>>>) -> Arc<Self> {
        let broker = Arc::new(Self {
            socket: Arc::new(socket),
            waiting: Mutex::new(VecDeque::new()),
        });
        let reader = Arc::clone(&broker);
        let spawned = std::thread::Builder::new()
            .name("crossguard-run-control".to_owned())
            .spawn(move || {
                let status = reader.read_answers();
                let _ = exited.send(Some(status));
            });
        if spawned.is_err() {
            eprintln!("crossguard: cannot start the control thread");
        }
        broker
    }

    /// Reads answers until the app's status (or the helper's end) arrives.
    fn read_answers(&self) -> Option<u8> {
        loop {
            let message = match recv(&*self.socket) {
                Ok(Some(message)) => message,
                Ok(None) | Err(_) => {
                    self.fail_waiting();
                    return None;
                }
            };
            match message {
                (bytes, Some(fd)) if bytes.first() == Some(&b'F') => {
                    self.answer(Ok(std::net::TcpStream::from(fd)));
                }
                (bytes, _) if bytes.first() == Some(&b'E') => {
                    let errno = bytes
                        .get(1..5)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(0, i32::from_le_bytes);
                    self.answer(Err(io::Error::from_raw_os_error(errno)));
                }
                (bytes, _) if bytes.first() == Some(&b'X') => {
                    self.fail_waiting();
                    return bytes.get(1).copied();
                }
                _ => {}
            }
        }
    }

    fn answer(&self, result: io::Result<std::net::TcpStream>) {
        let next = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        if let Some(next) = next {
            let _ = next.send(result);
        }
    }

    fn fail_waiting(&self) {
        let waiting =
            std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner));
        for next in waiting {
            let _ = next.send(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the app has exited",
            )));
        }
    }

    /// Asks the helper to send `signal` to the app.
    pub(super) fn signal(&self, signal: i32) -> io::Result<()> {
        let number = u8::try_from(signal).map_err(|_| io::Error::other("no such signal"))?;
        send(&*self.socket, &[b'K', number], None)
    }

    /// Asks the helper for a fresh socket.
    fn request(&self) -> oneshot::Receiver<io::Result<std::net::TcpStream>> {
        let (answer, answered) = oneshot::channel();
        // The queue and the request are ordered together, as the answers will be.
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match send(&*self.socket, b"S", None) {
            Ok(()) => waiting.push_back(answer),
            Err(err) => {
                let _ = answer.send(Err(err));
            }
        }
        answered
    }
}

impl SocketSource for Broker {
    fn socket(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<std::net::TcpStream>> + Send>>
    {
        let answered = self.request();
        Box::pin(async move {
            answered.await.unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the namespace helper is gone",
                ))
            })
        })
    }
}
