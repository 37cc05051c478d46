//! Shared by every test of the command: the real `crossguard` binary as a child process (one
//! harness: a server killed on drop, or a run to completion), small upstreams on 127.0.0.1 port 0
//! that record what reaches them, and a raw HTTP/1.1 client. Every wait is bounded.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_crossguard");
pub const WAIT: Duration = Duration::from_secs(10);

/// A running `crossguard` server subcommand (`proxy`, `forward-auth`), killed when dropped, also
/// when a test fails. Its standard error is collected as it comes.
pub struct Crossguard {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// The line it announced itself with.
    pub banner: String,
    stderr: Arc<Mutex<String>>,
}

impl Crossguard {
    /// Starts `crossguard proxy --listen 127.0.0.1:0 ARGS` and waits for its `http://ADDR` line.
    pub fn proxy(args: &[&str]) -> Self {
        Self::start(&[&["proxy", "--listen", "127.0.0.1:0"], args].concat())
    }

    /// Starts `crossguard forward-auth --listen 127.0.0.1:0 ARGS` and waits for its
    /// `http://ADDR` line.
    pub fn forward_auth(args: &[&str]) -> Self {
        Self::start(&[&["forward-auth", "--listen", "127.0.0.1:0"], args].concat())
    }

    /// Starts `crossguard ARGS` (a server subcommand with its `--listen`) and waits, at most
    /// [`WAIT`], for the first line of its standard output, which names `http://ADDR`.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crossguard");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let mut server = Self {
            child: Some(child),
            addr: "0.0.0.0:0".parse().unwrap(),
            banner: String::new(),
            stderr,
        };
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no listening line; stderr: {}", server.stderr()));
        let start = line.find("http://").expect("line names http://ADDR") + "http://".len();
        let addr = line[start..]
            .split([',', ' '])
            .next()
            .unwrap_or_default()
            .trim();
        server.addr = addr.parse().unwrap();
        server.banner = line;
        server
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded by [`WAIT`]) until standard error holds `needle` in a complete line, and
    /// returns it; fails the test if it never does.
    pub fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.stderr();
            // The line holding the needle must be complete: the process may be caught between
            // writing its start and its end.
            if text
                .find(needle)
                .is_some_and(|at| text[at..].contains('\n'))
            {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "stderr never said {needle:?}; it said:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut()?;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Crossguard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `crossguard ARGS` to completion with `stdin` as its standard input (none when `None`);
/// killed, and the test failed, after [`WAIT`].
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), stdin) {
        let input = input.to_vec();
        // The tool may stop reading early (oversized input): a broken pipe is fine.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("crossguard {args:?} did not exit within {WAIT:?}");
        }
    }
}

/// [`run`] without input: the exit code, standard output and standard error.
pub fn run_to_exit(args: &[&str]) -> (Option<i32>, String, String) {
    let output = run(args, None);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What reached an upstream.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub type Handler = Arc<dyn Fn(&Seen) -> Response<Full<Bytes>> + Send + Sync>;

/// A hyper HTTP/1.1 upstream that records every request (with its whole body) and answers
/// with `handler`.
pub struct Upstream {
    pub addr: SocketAddr,
    /// The Unix socket it listens on instead of `addr`.
    pub socket: Option<std::path::PathBuf>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start(handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_upstream(
                    stream,
                    Arc::clone(&record),
                    Arc::clone(&handler),
                ));
            }
        });
        Self {
            addr,
            socket: None,
            seen,
            task,
        }
    }

    /// The same upstream on a Unix socket at `path`.
    pub async fn start_unix(handler: Handler, path: &std::path::Path) -> Self {
        let listener = tokio::net::UnixListener::bind(path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_upstream(
                    stream,
                    Arc::clone(&record),
                    Arc::clone(&handler),
                ));
            }
        });
        Self {
            addr: closed_port(),
            socket: Some(path.to_owned()),
            seen,
            task,
        }
    }

    /// An upstream answering `200 ok` to everything.
    pub async fn ok() -> Self {
        Self::start(Arc::new(|_| Response::new(Full::from("ok")))).await
    }

    pub fn url(&self) -> String {
        match &self.socket {
            Some(path) => format!("unix:{}", path.display()),
            None => format!("http://{}", self.addr),
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves one upstream connection: records each request, answers with `handler`.
async fn serve_upstream<S>(stream: S, record: Arc<Mutex<Vec<Seen>>>, handler: Handler)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let record = Arc::clone(&record);
        let handler = Arc::clone(&handler);
        async move {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let seen = Seen {
                method: parts.method.to_string(),
                target: parts.uri.to_string(),
                headers: parts.headers,
                body,
            };
            let response = handler(&seen);
            record.lock().unwrap().push(seen);
            Ok::<_, Infallible>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A raw HTTP/1.1 exchange: writes `request`, reads until the peer closes or `within` passes.
pub async fn raw(addr: SocketAddr, request: &[u8], within: Duration) -> String {
    let mut stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    stream.write_all(request).await.unwrap();
    read_until_close(&mut stream, within).await
}

/// Reads until EOF, an error, or `within`.
pub async fn read_until_close(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 65536];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response head (up to the empty line) from `stream`, bounded.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = tokio::time::Instant::now() + WAIT;
    while !out.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut byte)).await {
            Ok(Ok(1)) => out.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A hyper client request through the proxy; the whole response body collected.
pub async fn send(request: Request<Full<Bytes>>) -> (Response<()>, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .expect("response within the bound")
        .expect("response");
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(WAIT, body.collect())
        .await
        .expect("body within the bound")
        .expect("body")
        .to_bytes();
    (Response::from_parts(parts, ()), body)
}

/// A free loopback port with nothing listening on it.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
