//! Request-smuggling defence (RFC 9112 §6.3, §11.2): follows the HTTP/1 message framing of the
//! bytes a client sends and records, for each request head, whether its body framing is
//! ambiguous: `Content-Length` together with `Transfer-Encoding`, `Content-Length` values that
//! differ, or an obsolete line fold.
//!
//! hyper already answers `400` to differing lengths and to folds, but it accepts `Content-Length`
//! with `Transfer-Encoding` (it lets chunked win, drops the length, which RFC 9112 allows, and
//! closes the connection after the response) and does not tell its service; so the bytes are read
//! here, before hyper parses them, and the service asks [`FramingLog::next_ambiguous`] for each
//! request in order.
//!
//! The follower must find the same head boundaries as hyper wherever hyper goes on reading the
//! connection. It reads bodies with hyper's own rules (a `Content-Length` body; chunked coding with
//! hyper's states: CRLF after every size line, chunk and trailer line, a bare LF is an error), and
//! where hyper stops reading (an error, a head over [`MAX_HEAD`](super::MAX_HEAD)) it stops too:
//! what it would read after that, hyper never serves. It keeps no copy of a head: only the first
//! bytes of each line, to recognise the two framing fields, and the value of those two.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::MAX_HEAD;

/// Chunk-extension bytes hyper reads per size line before it gives up.
const MAX_CHUNK_EXTENSION: u64 = 16 * 1024;
/// Trailer bytes hyper reads before it gives up.
const MAX_TRAILERS: usize = 16 * 1024;
/// Heads recorded but not yet asked about, at most (hyper reads a bounded amount ahead).
const MAX_PENDING: usize = 4096;
/// The longest prefix of a field line kept to recognise its name: `transfer-encoding:`.
const NAME_PREFIX: usize = 18;

/// The per-connection record of request heads, shared by the reader and the service.
#[derive(Debug, Clone, Default)]
pub(crate) struct FramingLog {
    shared: Arc<Mutex<Shared>>,
}

/// A complete head, as the follower recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Whether its body framing is ambiguous.
    pub(crate) ambiguous: bool,
    /// The first bytes of its request line (at most [`NAME_PREFIX`]): read only by the check of
    /// the follower against hyper ([`differential`]).
    #[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
    line: [u8; NAME_PREFIX],
    #[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
    line_len: u8,
}

impl Head {
    /// The first bytes of the request line.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn line(&self) -> &[u8] {
        self.line
            .get(..usize::from(self.line_len))
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Shared {
    /// One entry per complete head, oldest first.
    pending: VecDeque<Head>,
    /// The framing could not be followed: every later request on the connection is treated as
    /// ambiguous (hyper itself has stopped reading it by then).
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
            Some(head) => head.ambiguous,
            None => shared.lost && !shared.stopped,
        }
    }

    /// The next head recorded, if any (for checking the follower against hyper).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn next_head(&self) -> Option<Head> {
        self.lock().pending.pop_front()
    }

    /// Stops following the connection (it is now a tunnel).
    pub(crate) fn stop(&self) {
        let mut shared = self.lock();
        shared.stopped = true;
        shared.pending.clear();
    }

    fn record(&self, head: Head) {
        let mut shared = self.lock();
        if shared.stopped {
            return;
        }
        if shared.pending.len() >= MAX_PENDING {
            shared.lost = true;
            return;
        }
        shared.pending.push_back(head);
    }

    fn lose(&self) {
        self.lock().lost = true;
    }

    fn is_stopped(&self) -> bool {
        self.lock().stopped
    }
}

/// hyper's chunked-body states (`hyper::proto::h1::decode::ChunkedState`), each step the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// The first hex digit of a size line.
    Start,
    /// More hex digits of the size.
    Size(u64),
    /// Spaces or tabs after the size.
    SizeLws(u64),
    /// A chunk extension, up to the CR (`count` bytes so far).
    Extension { size: u64, count: u64 },
    /// The LF of a size line.
    SizeLf(u64),
    /// Chunk data: bytes left.
    Data(u64),
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// A trailer line, up to its CR.
    Trailer,
    /// The LF of a trailer line.
    TrailerLf,
    /// The CR of the empty line that ends the trailers, or the first byte of a trailer line.
    EndCr,
    /// The LF of the empty line that ends the message.
    EndLf,
}

/// Where the client's byte stream is, in HTTP/1 message terms.
#[derive(Debug)]
enum State {
    /// Reading a request head.
    Head(HeadReader),
    /// Inside a `Content-Length` body: bytes left.
    Fixed(u64),
    /// Inside a chunked body (`trailer_bytes` read so far).
    Chunked { chunk: Chunk, trailer_bytes: usize },
    /// Nothing more to follow.
    Done,
}

/// The framing follower: fed every byte the client sends, in order.
#[derive(Debug)]
struct Follower {
    state: State,
    /// Whether a head has been read: the HTTP/2 preface counts only as the first.
    heads: bool,
}

impl Follower {
    fn new() -> Self {
        Self {
            state: State::Head(HeadReader::default()),
            heads: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8], log: &FramingLog) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return,
                State::Fixed(left) => {
                    let take = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(take..).unwrap_or_default();
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = State::Head(HeadReader::default());
                    }
                }
                State::Chunked {
                    chunk: Chunk::Data(left),
                    ..
                } => {
                    let take = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(take..).unwrap_or_default();
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = State::Chunked {
                            chunk: Chunk::DataCr,
                            trailer_bytes: 0,
                        };
                    }
                }
                State::Head(reader) => {
                    let (taken, read) = reader.feed(bytes);
                    bytes = bytes.get(taken..).unwrap_or_default();
                    match read {
                        Read::More => {}
                        Read::TooLarge => self.lost(log),
                        Read::Complete(facts) => self.head(&facts, log),
                    }
                }
                State::Chunked { .. } => {
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
        match &mut self.state {
            State::Head(reader) => match reader.byte(byte) {
                Read::More => {}
                Read::TooLarge => self.lost(log),
                Read::Complete(facts) => self.head(&facts, log),
            },
            State::Chunked {
                chunk,
                trailer_bytes,
            } => match step(*chunk, byte, trailer_bytes) {
                Some(None) => self.state = State::Head(HeadReader::default()),
                Some(Some(next)) => *chunk = next,
                None => self.lost(log),
            },
            State::Fixed(_) | State::Done => {}
        }
    }

    fn head(&mut self, facts: &HeadFacts, log: &FramingLog) {
        if facts.http2_preface && !std::mem::replace(&mut self.heads, true) {
            // h2c with prior knowledge: frames from here on. Later on an HTTP/1.1 connection,
            // the same bytes are a request hyper refuses, recorded like any other: stopping
            // there would drop the records of the requests before it that hyper has not yet
            // served.
            log.stop();
            self.state = State::Done;
            return;
        }
        self.heads = true;
        log.record(Head {
            ambiguous: facts.ambiguous(),
            line: facts.request_line,
            line_len: facts.request_line_len,
        });
        self.state = match facts.body() {
            Some(Body::Chunked) => State::Chunked {
                chunk: Chunk::Start,
                trailer_bytes: 0,
            },
            Some(Body::Fixed(0)) => State::Head(HeadReader::default()),
            Some(Body::Fixed(length)) => State::Fixed(length),
            // hyper refuses such a head and closes the connection.
            None => {
                self.lost(log);
                return;
            }
        };
    }

    fn lost(&mut self, log: &FramingLog) {
        log.lose();
        self.state = State::Done;
    }
}

/// One step of hyper's chunked decoder: the next state, `Some(None)` when the message ended, or
/// `None` where hyper fails the body (and stops reading the connection).
fn step(chunk: Chunk, byte: u8, trailer_bytes: &mut usize) -> Option<Option<Chunk>> {
    let next = match chunk {
        Chunk::Start => Chunk::Size(u64::from(hex(byte)?)),
        Chunk::Size(size) => match byte {
            b'\t' | b' ' => Chunk::SizeLws(size),
            b';' => Chunk::Extension { size, count: 0 },
            b'\r' => Chunk::SizeLf(size),
            _ => Chunk::Size(size.checked_mul(16)?.checked_add(u64::from(hex(byte)?))?),
        },
        Chunk::SizeLws(size) => match byte {
            b'\t' | b' ' => Chunk::SizeLws(size),
            b';' => Chunk::Extension { size, count: 0 },
            b'\r' => Chunk::SizeLf(size),
            _ => return None,
        },
        Chunk::Extension { size, count } => match byte {
            b'\r' => Chunk::SizeLf(size),
            b'\n' => return None,
            _ if count + 1 >= MAX_CHUNK_EXTENSION => return None,
            _ => Chunk::Extension {
                size,
                count: count + 1,
            },
        },
        Chunk::SizeLf(0) if byte == b'\n' => Chunk::EndCr,
        Chunk::SizeLf(size) if byte == b'\n' => Chunk::Data(size),
        Chunk::DataCr if byte == b'\r' => Chunk::DataLf,
        Chunk::DataLf if byte == b'\n' => Chunk::Start,
        Chunk::Trailer => {
            trailer(trailer_bytes)?;
            if byte == b'\r' {
                Chunk::TrailerLf
            } else {
                Chunk::Trailer
            }
        }
        Chunk::TrailerLf if byte == b'\n' => {
            trailer(trailer_bytes)?;
            Chunk::EndCr
        }
        Chunk::EndCr if byte == b'\r' => Chunk::EndLf,
        Chunk::EndCr => {
            trailer(trailer_bytes)?;
            Chunk::Trailer
        }
        Chunk::EndLf if byte == b'\n' => return Some(None),
        Chunk::SizeLf(_)
        | Chunk::Data(_)
        | Chunk::DataCr
        | Chunk::DataLf
        | Chunk::TrailerLf
        | Chunk::EndLf => return None,
    };
    Some(Some(next))
}

/// Counts one trailer byte; `None` past hyper's limit.
fn trailer(bytes: &mut usize) -> Option<()> {
    *bytes += 1;
    (*bytes < MAX_TRAILERS).then_some(())
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// What reading a head byte gave.
enum Read {
    More,
    /// The head is past [`MAX_HEAD`]: hyper answers `431` and closes the connection.
    TooLarge,
    Complete(HeadFacts),
}

/// The kind of the field line being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Line {
    /// The request line (its first bytes kept, to recognise the HTTP/2 preface).
    #[default]
    Request,
    /// A field line whose name is not known yet (its first bytes kept).
    Undecided,
    ContentLength,
    TransferEncoding,
    /// Any other field line, or a fold: nothing more kept.
    Other,
}

/// Reads a request head a byte at a time, keeping only what framing needs.
#[derive(Debug, Default)]
struct HeadReader {
    /// Bytes of the head so far, leading empty lines excluded.
    len: usize,
    line: Line,
    /// The current line's kept bytes: a name prefix, or a framing field's whole line.
    kept: Vec<u8>,
    /// Whether the current line has any byte but its line end.
    line_has_bytes: bool,
    facts: HeadFacts,
}

impl HeadReader {
    /// Reads head bytes from `bytes` until the head is complete or too large, or `bytes` runs
    /// out: how many it took, and what they gave. A line at a time, with the same outcome as
    /// [`HeadReader::byte`] for each byte in turn (which it falls back to for a line with a CR
    /// inside, for the bytes before the request line, and near the size cap).
    fn feed(&mut self, bytes: &[u8]) -> (usize, Read) {
        let mut taken = 0;
        let mut rest = bytes;
        while self.len == 0 {
            let Some((&byte, after)) = rest.split_first() else {
                return (taken, Read::More);
            };
            taken += 1;
            rest = after;
            match self.byte(byte) {
                Read::More => {}
                read => return (taken, read),
            }
        }
        loop {
            let end = memchr::memchr(b'\n', rest);
            let line = end.and_then(|end| rest.get(..end)).unwrap_or(rest);
            let text = line.strip_suffix(b"\r").unwrap_or(line);
            if memchr::memchr(b'\r', text).is_some() || self.len + line.len() >= MAX_HEAD {
                let whole = end.map_or(line.len(), |end| end + 1);
                for &byte in rest.get(..whole).unwrap_or_default() {
                    taken += 1;
                    match self.byte(byte) {
                        Read::More => {}
                        read => return (taken, read),
                    }
                }
                rest = rest.get(whole..).unwrap_or_default();
            } else {
                self.len += line.len();
                self.text(text);
                taken += line.len();
                rest = rest.get(line.len()..).unwrap_or_default();
                if end.is_some() {
                    taken += 1;
                    rest = rest.get(1..).unwrap_or_default();
                    match self.byte(b'\n') {
                        Read::More => {}
                        read => return (taken, read),
                    }
                }
            }
            if end.is_none() {
                return (taken, Read::More);
            }
        }
    }

    /// A line's bytes other than CR and LF (already counted in `len`), as [`HeadReader::byte`]
    /// takes them one by one.
    fn text(&mut self, text: &[u8]) {
        let Some(&first) = text.first() else {
            return;
        };
        if !self.line_has_bytes && self.line != Line::Request && (first == b' ' || first == b'\t') {
            self.facts.obsolete_fold = true;
            self.line = Line::Other;
        }
        self.line_has_bytes = true;
        let mut rest = text;
        if self.line == Line::Undecided && self.kept.is_empty() {
            // The name usually arrives whole: its first bytes decide at once, as they would one
            // by one.
            match classify(text.get(..NAME_PREFIX).unwrap_or(text)) {
                Line::Undecided => {}
                line => {
                    self.line = line;
                    if matches!(line, Line::ContentLength | Line::TransferEncoding) {
                        self.kept.extend_from_slice(text);
                    }
                    return;
                }
            }
        }
        while self.line == Line::Undecided {
            let Some((&byte, after)) = rest.split_first() else {
                return;
            };
            self.kept.push(byte);
            self.line = classify(&self.kept);
            if self.line == Line::Other {
                self.kept.clear();
            }
            rest = after;
        }
        match self.line {
            Line::Request => {
                let room = NAME_PREFIX.saturating_sub(self.kept.len()).min(rest.len());
                self.kept
                    .extend_from_slice(rest.get(..room).unwrap_or_default());
            }
            Line::ContentLength | Line::TransferEncoding => self.kept.extend_from_slice(rest),
            Line::Undecided | Line::Other => {}
        }
    }

    fn byte(&mut self, byte: u8) -> Read {
        // Empty lines before a request line are ignored (RFC 9112 §2.2), as httparse does.
        if self.len == 0 && (byte == b'\r' || byte == b'\n') {
            return Read::More;
        }
        self.len += 1;
        if self.len > MAX_HEAD {
            return Read::TooLarge;
        }
        if byte == b'\n' {
            if !self.line_has_bytes {
                return Read::Complete(std::mem::take(&mut self.facts));
            }
            self.end_line();
            return Read::More;
        }
        if byte == b'\r' {
            return Read::More;
        }
        if !self.line_has_bytes && self.line != Line::Request && (byte == b' ' || byte == b'\t') {
            self.facts.obsolete_fold = true;
            self.line = Line::Other;
        }
        self.line_has_bytes = true;
        match self.line {
            Line::Request if self.kept.len() < NAME_PREFIX => self.kept.push(byte),
            Line::Undecided => {
                self.kept.push(byte);
                self.line = classify(&self.kept);
                if self.line == Line::Other {
                    // Nothing of an unrelated line is kept.
                    self.kept.clear();
                }
            }
            Line::ContentLength | Line::TransferEncoding => self.kept.push(byte),
            Line::Request | Line::Other => {}
        }
        Read::More
    }

    fn end_line(&mut self) {
        let kept = std::mem::take(&mut self.kept);
        match self.line {
            Line::Request => {
                self.facts.http2_preface = kept == b"PRI * HTTP/2.0";
                let len = kept.len().min(NAME_PREFIX);
                if let (Some(to), Some(from)) =
                    (self.facts.request_line.get_mut(..len), kept.get(..len))
                {
                    to.copy_from_slice(from);
                }
                self.facts.request_line_len = u8::try_from(len).unwrap_or(0);
            }
            Line::ContentLength | Line::TransferEncoding => self.facts.field(&kept),
            Line::Undecided | Line::Other => {}
        }
        self.kept = kept;
        self.kept.clear();
        self.line = Line::Undecided;
        self.line_has_bytes = false;
    }
}

/// The kind of a field line from its first bytes: `Undecided` while they could still begin
/// `Content-Length:` or `Transfer-Encoding:`.
fn classify(prefix: &[u8]) -> Line {
    // httparse refuses whitespace between a request's field name and its colon, so these are
    // the only spellings hyper reads as the two fields.
    const NAMES: [(&[u8], Line); 2] = [
        (b"content-length:", Line::ContentLength),
        (b"transfer-encoding:", Line::TransferEncoding),
    ];
    let mut undecided = false;
    for (name, line) in NAMES {
        match (prefix.get(..name.len()), name.get(..prefix.len())) {
            (Some(head), _) if head.eq_ignore_ascii_case(name) => return line,
            (None, Some(start)) if start.eq_ignore_ascii_case(prefix) => undecided = true,
            _ => {}
        }
    }
    if undecided {
        Line::Undecided
    } else {
        Line::Other
    }
}

enum Body {
    Fixed(u64),
    Chunked,
}

/// What one request head says about its body.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeadFacts {
    request_line: [u8; NAME_PREFIX],
    request_line_len: u8,
    http2_preface: bool,
    obsolete_fold: bool,
    transfer_encoding: bool,
    chunked_last: bool,
    lengths: Vec<Option<u64>>,
}

impl HeadFacts {
    /// A whole `Content-Length` or `Transfer-Encoding` line, name included.
    fn field(&mut self, line: &[u8]) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            self.lengths
                .extend(value.split(|&b| b == b',').map(|v| decimal(v.trim_ascii())));
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding = true;
            self.chunked_last = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
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

/// A client stream whose bytes pass through the framing follower on their way to hyper.
pub(crate) struct FramingIo<T> {
    inner: T,
    follower: Follower,
    log: FramingLog,
}

impl<T> FramingIo<T> {
    pub(crate) fn new(inner: T, log: FramingLog) -> Self {
        Self {
            inner,
            follower: Follower::new(),
            log,
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
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if matches!(this.follower.state, State::Done) {
                // Nothing more to follow (a tunnel, HTTP/2, or framing lost).
            } else if this.log.is_stopped() {
                this.follower.state = State::Done;
            } else {
                let new = buf.filled().get(before..).unwrap_or_default();
                this.follower.feed(new, &this.log);
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

/// Serves `bytes`, as one client connection, with hyper's HTTP/1 server reading them through the
/// follower, and checks that every request hyper serves is the head the follower recorded next
/// (its request line starts the same). The number of requests hyper served, or the first
/// disagreement. The fuzz target `framing` and the tests run it.
#[cfg(any(test, fuzzing))]
pub(crate) fn differential(bytes: &[u8]) -> Result<usize, String> {
    use http::{Request, Response};
    use http_body_util::{BodyExt as _, Empty};
    use hyper::body::{Bytes, Incoming};
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let log = FramingLog::default();
        let io = TokioIo::new(FramingIo::new(server, log.clone()));
        let verdicts: Arc<Mutex<Result<usize, String>>> = Arc::new(Mutex::new(Ok(0)));
        let seen = Arc::clone(&verdicts);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let said = head_agrees(log.next_head(), &request);
            let mut verdict = seen.lock().unwrap_or_else(|p| p.into_inner());
            *verdict = match (&*verdict, said) {
                (Ok(n), Ok(())) => Ok(n + 1),
                (Err(first), _) => Err(first.clone()),
                (Ok(_), Err(why)) => Err(why),
            };
            async move {
                // Read the body as the proxy does, so hyper goes on to the next request.
                let _ = request.into_body().collect().await;
                Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
            }
        });
        let serving = tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .serve_connection(io, service),
        );
        let input = bytes.to_vec();
        let talk = async move {
            let _ = client.write_all(&input).await;
            let _ = client.shutdown().await;
            let mut answers = Vec::new();
            let _ = client.read_to_end(&mut answers).await;
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), talk).await;
        serving.abort();
        verdicts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    })
}

/// Whether the head the follower recorded next is the request hyper parsed.
#[cfg(any(test, fuzzing))]
fn head_agrees<B>(head: Option<Head>, request: &http::Request<B>) -> Result<(), String> {
    let parsed = format!("{} {}", request.method(), request.uri());
    let Some(head) = head else {
        return Err(format!(
            "hyper served `{parsed}`, the follower recorded no head for it"
        ));
    };
    let recorded = head.line();
    let n = recorded.len().min(parsed.len());
    match (recorded.get(..n), parsed.as_bytes().get(..n)) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => Ok(()),
        _ => Err(format!(
            "hyper served `{parsed}`, the follower recorded `{}`",
            String::from_utf8_lossy(recorded)
        )),
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
        (
            shared.pending.iter().map(|h| h.ambiguous).collect(),
            shared.lost,
        )
    }

    /// (source, bytes, ambiguity of each head, framing lost).
    #[rustfmt::skip]
    const CASES: &[(&str, &[u8], &[bool], bool)] = &[
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
        ("h2 preface in pieces is the same preface", b"PRI * HTTP/2.0\r\n\r\n", &[], false),
        // hyper ends a trailer line only at CRLF: with bare LFs, `GET /phantom ...` below is
        // still trailer bytes to it, up to the CRLF CRLF that ends the message.
        ("hyper: a trailer line ends only at CRLF (bare LF is no phantom head)", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\n\nGET /phantom HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[false, true], false),
        ("hyper: a size line ends only at CRLF", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false], true),
        ("hyper: chunk data ends with CRLF", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false], true),
        ("hyper: a bare LF in an extension fails", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", &[false], true),
        ("hyper: size with trailing spaces then CRLF", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5  \r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false, false], false),
        ("hyper: a size that overflows u64 fails", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", &[false], true),
        ("hyper: two trailers then the next head", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[false, true], false),
        ("a field named like the framing fields is not one", b"POST / HTTP/1.1\r\nContent-Lengthy: 3\r\nX-Transfer-Encoding: chunked\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false, false], false),
        ("case-insensitive names", b"POST / HTTP/1.1\r\nCONTENT-LENGTH: 3\r\ntransfer-ENCODING: chunked\r\n\r\n0\r\n\r\n", &[true], false),
    ];

    #[test]
    fn framing_table() {
        let cases = CASES;
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

    /// hyper and the follower count the same requests: every table input, and each cut at every
    /// length and with every line end made bare (the mutations that once knocked them apart).
    #[test]
    fn the_follower_agrees_with_hyper() {
        let mut inputs: Vec<Vec<u8>> = CASES.iter().map(|c| c.1.to_vec()).collect();
        for input in CASES.iter().map(|c| c.1) {
            for cut in 0..input.len() {
                inputs.push(input[..cut].to_vec());
            }
            for (at, _) in input.iter().enumerate().filter(|(_, b)| **b == b'\r') {
                let mut bare = input.to_vec();
                bare.remove(at);
                inputs.push(bare);
            }
        }
        for input in &inputs {
            if let Err(why) = differential(input) {
                panic!("{why}: {:?}", String::from_utf8_lossy(input));
            }
        }
        // The table's plain keep-alive case really serves two requests through both.
        assert_eq!(
            differential(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
            Ok(2)
        );
    }

    /// What the follower records and where it ends up, fed `input` in pieces of the given sizes
    /// (cycled); with no sizes, a byte at a time with heads read by [`HeadReader::byte`].
    fn followed(input: &[u8], pieces: &[usize]) -> (VecDeque<Head>, bool, String) {
        let log = FramingLog::default();
        let mut follower = Follower::new();
        if pieces.is_empty() {
            for &byte in input {
                if matches!(follower.state, State::Head(_)) {
                    follower.byte(byte, &log);
                } else {
                    follower.feed(&[byte], &log);
                }
            }
        }
        let mut rest = if pieces.is_empty() { &[][..] } else { input };
        for &size in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at(size.clamp(1, rest.len()));
            follower.feed(piece, &log);
            rest = after;
        }
        let shared = log.lock();
        let state = match &follower.state {
            State::Head(reader) => format!(
                "head len {} line {:?} kept {:?} has {} facts {:?}",
                reader.len, reader.line, reader.kept, reader.line_has_bytes, reader.facts
            ),
            other => format!("{other:?}"),
        };
        (shared.pending.clone(), shared.lost, state)
    }

    /// The line-at-a-time head reader ends where the byte-at-a-time one does, whatever the
    /// pieces the bytes come in: the table's inputs with CRs, LFs, spaces and tabs put in at
    /// pseudo-random places (a fixed seed), and lines long enough to reach the head cap.
    #[test]
    fn reading_a_line_at_a_time_is_reading_a_byte_at_a_time() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut inputs: Vec<Vec<u8>> = CASES.iter().map(|c| c.1.to_vec()).collect();
        for input in CASES.iter().map(|c| c.1) {
            for _ in 0..40 {
                let mut mutated = input.to_vec();
                for _ in 0..(next() % 4 + 1) {
                    let at = usize::try_from(next()).unwrap() % (mutated.len() + 1);
                    let byte =
                        [b'\r', b'\n', b' ', b'\t', b'\r'][usize::try_from(next() % 5).unwrap()];
                    mutated.insert(at, byte);
                }
                inputs.push(mutated);
            }
        }
        for fill in [
            MAX_HEAD - 40,
            MAX_HEAD - 17,
            MAX_HEAD - 16,
            MAX_HEAD - 3,
            MAX_HEAD,
        ] {
            let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
            long.resize(fill, b'a');
            // A line that has not ended yet, at and past the cap.
            inputs.push([&long[..], b"aaaa"].concat());
            long.extend_from_slice(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n");
            inputs.push(long);
        }
        for input in &inputs {
            let by_byte = followed(input, &[]);
            let pieces = [
                usize::try_from(next() % 7 + 1).unwrap(),
                usize::try_from(next() % 64 + 1).unwrap(),
                usize::try_from(next() % 3 + 1).unwrap(),
            ];
            for sizes in [&[1][..], &[input.len()], &pieces] {
                assert_eq!(
                    followed(input, sizes),
                    by_byte,
                    "{sizes:?}: {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn a_head_past_the_cap_is_lost_and_nothing_of_it_is_kept() {
        let log = FramingLog::default();
        let mut follower = Follower::new();
        follower.feed(b"GET / HTTP/1.1\r\nX: ", &log);
        follower.feed(&vec![b'a'; MAX_HEAD / 2], &log);
        match &follower.state {
            State::Head(reader) => {
                assert!(reader.kept.len() <= NAME_PREFIX, "{}", reader.kept.len())
            }
            other => panic!("{other:?}"),
        }
        follower.feed(&vec![b'a'; MAX_HEAD], &log);
        assert!(log.lock().lost);
        assert!(matches!(follower.state, State::Done));
    }
}
