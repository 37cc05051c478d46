//! Request-smuggling defence (RFC 9112 §6.3, §11.2): follows the HTTP/1 message framing of the
//! bytes a client sends and records, for each request head, whether its body framing is
//! ambiguous: `Content-Length` together with `Transfer-Encoding`, `Content-Length` values that
//! differ, or an obsolete line fold.
//!
//! hyper already answers `400` to differing lengths and to folds, but it accepts `Content-Length`
//! with `Transfer-Encoding` (it lets chunked win and drops the length, which RFC 9112 allows) and
//! does not tell its service; so the bytes are read here, before hyper parses them, and the
//! service asks [`FramingLog::next_ambiguous`] for each request in order.
//!
//! The reader also enforces the header timeout before the first head is complete, which hyper
//! does not do while it detects the protocol (HTTP/1.1 or the HTTP/2 preface).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The largest head followed; hyper refuses heads well below this (about 400 KiB).
const MAX_HEAD: usize = 1 << 20;
/// The longest chunk-size or trailer line followed.
const MAX_LINE: usize = 16 << 10;
/// Heads recorded but not yet asked about, at most (hyper reads a bounded amount ahead).
const MAX_PENDING: usize = 4096;

/// The per-connection record of request heads, shared by the reader and the service.
#[derive(Debug, Clone, Default)]
pub(crate) struct FramingLog {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// One entry per complete head, oldest first: `true` when its framing is ambiguous.
    pending: VecDeque<bool>,
    /// The framing could not be followed (a head or line too long, a bad chunk size): every
    /// later request on the connection is treated as ambiguous.
    lost: bool,
    /// The connection became a tunnel (after a `101`) or speaks HTTP/2: nothing more to follow.
    stopped: bool,
}

impl FramingLog {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The data stays consistent whatever a panicking holder did: a queue of booleans.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the next request on the connection, in order, was framed ambiguously.
    pub(crate) fn next_ambiguous(&self) -> bool {
        let mut shared = self.lock();
        match shared.pending.pop_front() {
            Some(ambiguous) => ambiguous,
            None => shared.lost && !shared.stopped,
        }
    }

    /// Stops following the connection (it is now a tunnel).
    pub(crate) fn stop(&self) {
        let mut shared = self.lock();
        shared.stopped = true;
        shared.pending.clear();
    }

    fn record(&self, ambiguous: bool) {
        let mut shared = self.lock();
        if shared.stopped {
            return;
        }
        if shared.pending.len() >= MAX_PENDING {
            shared.lost = true;
            return;
        }
        shared.pending.push_back(ambiguous);
    }

    fn lose(&self) {
        self.lock().lost = true;
    }

    fn is_stopped(&self) -> bool {
        self.lock().stopped
    }
}

/// Where the client's byte stream is, in HTTP/1 message terms.
#[derive(Debug)]
enum State {
    /// Reading a request head.
    Head,
    /// Inside a `Content-Length` body: bytes left.
    Fixed(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Inside a chunk: bytes left.
    ChunkData(u64),
    /// The line end after a chunk's data.
    ChunkEnd,
    /// Trailer lines after the last chunk, up to an empty line.
    Trailers,
    /// Nothing more to follow.
    Done,
}

/// The framing follower: fed every byte the client sends, in order.
#[derive(Debug)]
struct Follower {
    state: State,
    line: Vec<u8>,
    first_head_done: bool,
}

impl Follower {
    fn new() -> Self {
        Self {
            state: State::Head,
            line: Vec::new(),
            first_head_done: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8], log: &FramingLog) {
        while !bytes.is_empty() {
            match self.state {
                State::Done => return,
                State::Fixed(left) => {
                    let take = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(take..).unwrap_or_default();
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Fixed(left)
                    };
                }
                State::ChunkData(left) => {
                    let take = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(take..).unwrap_or_default();
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left)
                    };
                }
                State::Head | State::ChunkSize | State::ChunkEnd | State::Trailers => {
                    let Some((&byte, rest)) = bytes.split_first() else {
                        return;
                    };
                    bytes = rest;
                    self.byte(byte, log);
                }
            }
        }
    }

    fn byte(&mut self, byte: u8, log: &FramingLog) {
        match self.state {
            State::Head => {
                // Empty lines before a request line are ignored (RFC 9112 §2.2).
                if self.line.is_empty() && (byte == b'\r' || byte == b'\n') {
                    return;
                }
                if self.line.len() >= MAX_HEAD {
                    self.lost(log);
                    return;
                }
                self.line.push(byte);
                if byte == b'\n' && (self.line.ends_with(b"\n\n") || self.line.ends_with(b"\n\r\n"))
                {
                    let head = std::mem::take(&mut self.line);
                    self.first_head_done = true;
                    self.head(&head, log);
                }
            }
            State::ChunkSize | State::ChunkEnd | State::Trailers => {
                if byte != b'\n' {
                    if self.line.len() >= MAX_LINE {
                        self.lost(log);
                    } else {
                        self.line.push(byte);
                    }
                    return;
                }
                let line = std::mem::take(&mut self.line);
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                self.state = match self.state {
                    State::ChunkSize => match chunk_size(line) {
                        Some(0) => State::Trailers,
                        Some(size) => State::ChunkData(size),
                        None => {
                            self.lost(log);
                            return;
                        }
                    },
                    State::ChunkEnd if line.is_empty() => State::ChunkSize,
                    State::Trailers if line.is_empty() => State::Head,
                    State::Trailers => State::Trailers,
                    _ => {
                        self.lost(log);
                        return;
                    }
                };
            }
            State::Fixed(_) | State::ChunkData(_) | State::Done => {}
        }
    }

    fn head(&mut self, head: &[u8], log: &FramingLog) {
        let facts = HeadFacts::read(head);
        if facts.http2_preface {
            // h2c with prior knowledge: frames from here on.
            log.stop();
            self.state = State::Done;
            return;
        }
        log.record(facts.ambiguous());
        self.state = match facts.body() {
            Some(Body::Chunked) => State::ChunkSize,
            Some(Body::Fixed(0)) => State::Head,
            Some(Body::Fixed(length)) => State::Fixed(length),
            // hyper refuses such a head and closes the connection; should it not, nothing
            // after it can be trusted.
            None => {
                self.lost(log);
                return;
            }
        };
    }

    fn lost(&mut self, log: &FramingLog) {
        log.lose();
        self.line = Vec::new();
        self.state = State::Done;
    }
}

enum Body {
    Fixed(u64),
    Chunked,
}

/// What one request head says about its body.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeadFacts {
    http2_preface: bool,
    obsolete_fold: bool,
    transfer_encoding: bool,
    chunked_last: bool,
    lengths: Vec<Option<u64>>,
}

impl HeadFacts {
    fn read(head: &[u8]) -> Self {
        let mut facts = Self::default();
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        if let Some(request_line) = lines.next() {
            facts.http2_preface = request_line == b"PRI * HTTP/2.0";
        }
        for line in lines {
            if line.is_empty() {
                continue;
            }
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                facts.obsolete_fold = true;
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let value = value.get(1..).unwrap_or_default().trim_ascii();
            if name.eq_ignore_ascii_case(b"content-length") {
                facts
                    .lengths
                    .extend(value.split(|&b| b == b',').map(|v| decimal(v.trim_ascii())));
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                facts.transfer_encoding = true;
                facts.chunked_last = value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
        }
        facts
    }

    /// RFC 9112 §6.3 ¶3, §11.2, §5.2: a length with a transfer coding, lengths that disagree, a
    /// fold.
    fn ambiguous(&self) -> bool {
        let differing = self
            .lengths
            .first()
            .is_some_and(|first| self.lengths.iter().any(|l| l != first));
        self.obsolete_fold || (self.transfer_encoding && !self.lengths.is_empty()) || differing
    }

    /// How the body is framed, as hyper reads it; `None` when hyper refuses the head.
    fn body(&self) -> Option<Body> {
        if self.transfer_encoding {
            return self.chunked_last.then_some(Body::Chunked);
        }
        match self.lengths.first() {
            None => Some(Body::Fixed(0)),
            Some(length) => length.map(Body::Fixed),
        }
    }
}

fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line
        .iter()
        .position(|&b| b == b';' || b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    let digits = line.get(..end)?;
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// A client stream whose bytes pass through the framing follower on their way to hyper.
pub(crate) struct FramingIo<T> {
    inner: T,
    follower: Follower,
    log: FramingLog,
    /// Armed until the first head is complete.
    first_head_deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> FramingIo<T> {
    pub(crate) fn new(inner: T, log: FramingLog, header_timeout: Duration) -> Self {
        Self {
            inner,
            follower: Follower::new(),
            log,
            first_head_deadline: Some(Box::pin(tokio::time::sleep(header_timeout))),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FramingIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(deadline) = this.first_head_deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request head not received within the header timeout",
                )));
            }
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if !this.log.is_stopped() {
                let new = buf.filled().get(before..).unwrap_or_default();
                this.follower.feed(new, &this.log);
            }
            if this.follower.first_head_done || this.log.is_stopped() {
                this.first_head_deadline = None;
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FramingIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn heads(input: &[u8]) -> (Vec<bool>, bool) {
        let log = FramingLog::default();
        let mut follower = Follower::new();
        // Byte by byte and all at once must agree.
        for byte in input {
            follower.feed(std::slice::from_ref(byte), &log);
        }
        let mut whole = Follower::new();
        let log_whole = FramingLog::default();
        whole.feed(input, &log_whole);
        let shared = log.lock();
        assert_eq!(shared.pending, log_whole.lock().pending);
        (shared.pending.iter().copied().collect(), shared.lost)
    }

    #[rustfmt::skip]
    #[test]
    fn framing_table() {
        let cases: &[(&str, &[u8], &[bool], bool)] = &[
            ("RFC 9112 §6.3: plain GET", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &[false], false),
            ("RFC 9112 §6.3 ¶3: CL + TE", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[true], false),
            ("RFC 9112 §6.3 ¶3: TE + CL", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", &[true], false),
            ("RFC 9112 §6.3 ¶5: differing CL", b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", &[true], false),
            ("RFC 9112 §6.3 ¶5: CL list", b"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n", &[true], false),
            ("RFC 9110 §8.6: same CL twice", b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n", &[false, false], false),
            ("RFC 9112 §5.2: obs-fold", b"GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n", &[true], false),
            ("keep-alive: CL body then a smuggled head", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[false, true], false),
            ("chunked body with extension and trailer, then a head", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false, false], false),
            ("a body that looks like a head is a body", b"POST / HTTP/1.1\r\nContent-Length: 27\r\n\r\nGET / HTTP/1.1\r\nX: 1\r\n\r\n\r\n", &[false], false),
            ("LF-only line ends", b"GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\n\n", &[false, false], false),
            ("empty lines before a request line", b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false], false),
            ("bad chunk size: lost, fail closed", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &[false], true),
            ("RFC 9112 §6.1: a coding other than chunked last: lost", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false], true),
            ("RFC 9112 §6.3 ¶5: an unparsable length: lost", b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", &[false], true),
            ("h2 preface: stop", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\n\n", &[], false),
        ];
        for (name, input, expected, lost) in cases {
            let (got, got_lost) = heads(input);
            assert_eq!((got.as_slice(), got_lost), (*expected, *lost), "{name}");
        }
    }

    #[test]
    fn lost_framing_refuses_every_later_request() {
        let log = FramingLog::default();
        log.lose();
        assert!(log.next_ambiguous());
        assert!(log.next_ambiguous());
        log.stop();
        assert!(!log.next_ambiguous());
    }

    #[test]
    fn oversized_head_is_lost_not_buffered_forever() {
        let log = FramingLog::default();
        let mut follower = Follower::new();
        follower.feed(b"GET / HTTP/1.1\r\nX: ", &log);
        follower.feed(&vec![b'a'; MAX_HEAD + 10], &log);
        assert!(log.lock().lost);
        assert!(follower.line.is_empty());
    }
}
