//! `crossguard run` on Linux: the parent's side (bind, isolate, hand sockets to the proxy,
//! forward signals, exit with the app) and the helper's (inside the namespace).

mod control;
mod egress;
mod sys;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use tokio::sync::watch;

use super::{Egress, Helper, Run};
use crate::proxy::upstream::{SocketSource, Upstream};
use crate::serve::Lifecycle;
use control::Broker;

/// Time the app gets to exit after SIGTERM when it never became ready.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Time between two attempts to reach the app while it starts.
const READY_POLL: Duration = Duration::from_millis(50);

pub(super) fn run(args: &Run) -> u8 {
    if let Err(message) = args.options.validate() {
        return crate::fail(&message);
    }
    let listen = args.listen.unwrap_or(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        args.port,
    )));
    let listener = match TcpListener::bind(listen) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("crossguard: cannot listen on {listen}: {err}");
            return 1;
        }
    };
    let root = rustix::process::geteuid().is_root();
    let egress = if args.no_egress {
        Egress::None
    } else if !root && find_program("pasta").is_some() {
        // pasta joins the namespaces it is given only when they belong to its user; root's
        // plain network namespace is not one it can join once it has dropped its privileges.
        Egress::Pasta
    } else {
        Egress::Proxy
    };
    let (ours, theirs) = match control::pair() {
        Ok(pair) => pair,
        Err(err) => {
            eprintln!("crossguard: cannot make the control socket: {err}");
            return 1;
        }
    };
    let program = crate::program();
    let Some((executable, program_args)) = program.split_first() else {
        return crate::fail("cannot tell how to start crossguard again");
    };
    let mut command = Command::new(executable);
    command
        .args(program_args)
        .arg("__namespace-helper")
        .arg("--control-fd")
        .arg(theirs.as_raw_fd().to_string())
        .arg("--port")
        .arg(args.port.to_string())
        .arg("--egress")
        .arg(match egress {
            Egress::None => "none",
            Egress::Pasta => "pasta",
            Egress::Proxy => "proxy",
        })
        .arg("--")
        .args(&args.command);
    sys::isolate(&mut command, theirs);
    let helper = command.spawn();
    // The helper's end of the control socket is closed here with the command.
    drop(command);
    let mut helper = match helper {
        Ok(helper) => helper,
        Err(err) => return cannot_isolate(&err, root),
    };
    let mut pasta = None;
    let set_up = match egress {
        Egress::None => Ok(()),
        Egress::Proxy => receive_egress_listener(&ours),
        Egress::Pasta => attach_pasta(helper.id()).map(|pid_file| pasta = Some(pid_file)),
    };
    let set_up = set_up.and_then(|()| control::send(&ours, b"G", None));
    if let Err(err) = set_up {
        eprintln!("crossguard: cannot set up the app's network: {err}");
        let _ = helper.kill();
        let _ = helper.wait();
        return 1;
    }

    let (exited_tx, exited) = watch::channel(None);
    let finished = exited.clone();
    let broker = Broker::start(ours, exited_tx);
    forward_signals(Arc::clone(&broker));
    let app = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, args.port));
    let source: Arc<dyn SocketSource> = broker.clone();
    let upstream = Upstream::in_namespace(app, Arc::clone(&source));
    let start_timeout = args.start_timeout;
    let killer = Arc::clone(&broker);
    let code = crate::proxy::serve_proxy(&args.options, upstream, listen, move || {
        Ok(Lifecycle {
            listener: Some(listener),
            ready: Box::pin(ready(
                Arc::clone(&broker),
                source,
                app,
                start_timeout,
                exited.clone(),
            )),
            stop: Box::pin(app_exit(exited)),
        })
    });
    // The helper exits right after it reported the app's status. An app still running here (one
    // that ignored SIGTERM at the start timeout, or a server that could not start) is killed,
    // and its helper with it.
    if finished.borrow().is_none() {
        let _ = killer.signal(Signal::KILL.as_raw());
        let deadline = Instant::now() + STOP_GRACE;
        while finished.borrow().is_none() && Instant::now() < deadline {
            std::thread::sleep(READY_POLL);
        }
        if finished.borrow().is_none() {
            let _ = helper.kill();
        }
    }
    let _ = helper.wait();
    if let Some(pid_file) = pasta {
        stop_pasta(&pid_file);
    }
    code
}

/// Waits until the app accepts connections on its port inside the namespace; on timeout, stops
/// it and says why.
async fn ready(
    broker: Arc<Broker>,
    source: Arc<dyn SocketSource>,
    app: SocketAddr,
    start_timeout: Duration,
    mut exited: watch::Receiver<Option<Option<u8>>>,
) -> Result<(), u8> {
    let deadline = Instant::now() + start_timeout;
    loop {
        if exited.borrow().is_some() {
            // The app's status is the stop future's to return.
            std::future::pending::<()>().await;
        }
        let attempt = async {
            let socket = source.socket().await?;
            socket.set_nonblocking(true)?;
            tokio::net::TcpSocket::from_std_stream(socket)
                .connect(app)
                .await
        };
        if let Ok(Ok(_)) = tokio::time::timeout(READY_POLL * 4, attempt).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            eprintln!(
                "crossguard: the app did not accept connections on {app} within {}s (--start-timeout); stopping it",
                start_timeout.as_secs_f64()
            );
            let _ = broker.signal(Signal::TERM.as_raw());
            let _ = tokio::time::timeout(STOP_GRACE, exited.wait_for(Option::is_some)).await;
            return Err(1);
        }
        tokio::select! {
            () = tokio::time::sleep(READY_POLL) => {}
            _ = exited.changed() => {}
        }
    }
}

/// The app's exit status, once it has exited.
async fn app_exit(mut exited: watch::Receiver<Option<Option<u8>>>) -> u8 {
    let status = match exited.wait_for(Option::is_some).await {
        Ok(status) => *status,
        Err(_) => None,
    };
    match status.flatten() {
        Some(code) => {
            eprintln!("crossguard: the app exited with status {code}");
            code
        }
        None => {
            eprintln!("crossguard: the namespace helper ended without the app's status");
            1
        }
    }
}

/// SIGINT and SIGTERM sent to crossguard with `kill` go to the app. Those a terminal sends (to
/// its whole foreground process group) reach the app directly and are not sent twice.
fn forward_signals(broker: Arc<Broker>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::SignalsInfo;
    use signal_hook::iterator::exfiltrator::WithOrigin;
    use signal_hook::low_level::siginfo::Cause;
    let mut signals = match SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("crossguard: cannot install signal handlers: {err}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("crossguard-run-signals".to_owned())
        .spawn(move || {
            for origin in signals.forever() {
                if matches!(origin.cause, Cause::Kernel) {
                    continue;
                }
                let _ = broker.signal(origin.signal);
            }
        });
    if let Err(err) = spawned {
        eprintln!("crossguard: cannot start the signal thread: {err}");
    }
}

/// The egress proxy's listener, bound by the helper inside the namespace.
fn receive_egress_listener(control: &std::os::fd::OwnedFd) -> io::Result<()> {
    match control::recv(control)? {
        Some((message, Some(fd))) if message.first() == Some(&b'L') => {
            egress::start(std::net::TcpListener::from(fd))
        }
        _ => Err(io::Error::other(
            "the namespace helper ended before its egress listener was ready",
        )),
    }
}

/// Attaches `pasta` to the helper's namespaces; returns the file holding pasta's process id.
fn attach_pasta(helper: u32) -> io::Result<std::path::PathBuf> {
    let pid_file =
        std::env::temp_dir().join(format!("crossguard-pasta-{}.pid", std::process::id()));
    let status = Command::new("pasta")
        .args(["--config-net", "--quiet"])
        // No port of the host goes in, none of the namespace's comes out: the app is reached
        // only through crossguard.
        .args(["-t", "none", "-u", "none", "-T", "none", "-U", "none"])
        .arg("--pid")
        .arg(&pid_file)
        .arg(helper.to_string())
        .stdin(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(pid_file)
    } else {
        Err(io::Error::other(format!(
            "pasta could not attach to the namespace ({status}); --no-egress runs without it"
        )))
    }
}

/// Stops `pasta` if it is still there (it leaves when the namespace's last process does).
fn stop_pasta(pid_file: &std::path::Path) {
    if let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .and_then(sys::pid)
    {
        let _ = rustix::process::kill_process(pid, Signal::TERM);
    }
    let _ = std::fs::remove_file(pid_file);
}

/// `name` on `PATH`.
fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The message when the namespaces cannot be made: what failed, why as far as the system says,
/// and the alternatives. Exit status 2; nothing was started.
fn cannot_isolate(err: &io::Error, root: bool) -> u8 {
    let what = if root {
        "a network namespace"
    } else {
        "user and network namespaces"
    };
    let read = |path: &str| std::fs::read_to_string(path).map(|t| t.trim().to_owned());
    let cause = if !root
        && read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").is_ok_and(|v| v == "1")
    {
        "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, as on Ubuntu 24.04)".to_owned()
    } else if !root && read("/proc/sys/kernel/unprivileged_userns_clone").is_ok_and(|v| v == "0") {
        "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)".to_owned()
    } else if !root && read("/proc/sys/user/max_user_namespaces").is_ok_and(|v| v == "0") {
        "user namespaces are disabled (user.max_user_namespaces=0)".to_owned()
    } else if read("/proc/sys/user/max_net_namespaces").is_ok_and(|v| v == "0") {
        "network namespaces are disabled (user.max_net_namespaces=0)".to_owned()
    } else if err.kind() == io::ErrorKind::PermissionDenied {
        "the kernel refused: a seccomp profile (as in most containers), a security module, or \
         a user namespace that maps none of this user's ids forbids it"
            .to_owned()
    } else {
        "the system refused".to_owned()
    };
    crate::fail(&format!(
        "cannot isolate the app: making {what} failed ({err}): {cause}. The app was not started. \
         Alternatives: allow user namespaces for crossguard (or run it as root); serve the app on \
         a Unix socket behind `crossguard proxy --upstream unix:/path/app.sock`; or guard it \
         in-process (the Python package's middlewares)"
    ))
}

// The helper, inside the namespace.

pub(super) fn helper(args: &Helper) -> u8 {
    let control = match sys::inherited(args.control_fd) {
        Ok(control) => control,
        Err(err) => {
            eprintln!("crossguard: the namespace helper has no control socket: {err}");
            return 1;
        }
    };
    if let Err(err) = sys::loopback_up() {
        eprintln!("crossguard: cannot bring the namespace's loopback up: {err}");
        return 1;
    }
    let mut environment: Vec<(&str, String)> = Vec::new();
    if args.egress == Egress::Proxy {
        let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("crossguard: cannot bind the egress proxy: {err}");
                return 1;
            }
        };
        let proxy = match listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(err) => {
                eprintln!("crossguard: cannot bind the egress proxy: {err}");
                return 1;
            }
        };
        let fd = std::os::fd::OwnedFd::from(listener);
        if let Err(err) = control::send(&control, b"L", Some(&fd)) {
            eprintln!("crossguard: cannot hand the egress listener over: {err}");
            return 1;
        }
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            environment.push((name, proxy.clone()));
        }
        for name in ["NO_PROXY", "no_proxy"] {
            environment.push((name, "localhost,127.0.0.1,::1".to_owned()));
        }
    }
    // Nothing starts before crossguard says the network is ready.
    match control::recv(&control) {
        Ok(Some((message, _))) if message.first() == Some(&b'G') => {}
        _ => return 1,
    }
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    // Terminal signals reach the app by themselves; crossguard forwards the others. The
    // handlers (not `SIG_IGN`) are reset to the default in the app by `exec`.
    let ignored = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGQUIT,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&ignored));
    }

    let Some((program, program_args)) = args.command.split_first() else {
        return 2;
    };
    let mut command = Command::new(program);
    command.args(program_args).envs(environment);
    sys::die_with_parent(&mut command);
    let mut app = match command.spawn() {
        Ok(app) => app,
        Err(err) => {
            eprintln!(
                "crossguard: cannot start {}: {err}",
                std::path::Path::new(program).display()
            );
            let _ = control::send(&control, &control::status_message(127), None);
            return 127;
        }
    };
    let control = Arc::new(control);
    let app_pid = sys::pid(app.id());
    let answering = Arc::clone(&control);
    let _ = std::thread::Builder::new()
        .name("crossguard-helper-control".to_owned())
        .spawn(move || answer_requests(&answering, app_pid));

    let status = loop {
        match app.wait() {
            Ok(status) => break exit_code(status),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break 1,
        }
    };
    end_descendants();
    let _ = control::send(&*control, &control::status_message(status), None);
    0
}

/// Answers crossguard's requests until it is gone; then the app is killed.
fn answer_requests(control: &std::os::fd::OwnedFd, app: Option<rustix::process::Pid>) {
    loop {
        let message = match control::recv(control) {
            Ok(Some((message, _))) => message,
            Ok(None) | Err(_) => break,
        };
        match message.as_slice() {
            [b'S'] => {
                let socket = rustix::net::socket_with(
                    rustix::net::AddressFamily::INET,
                    rustix::net::SocketType::STREAM,
                    rustix::net::SocketFlags::CLOEXEC,
                    None,
                );
                let sent = match socket {
                    Ok(socket) => control::send(control, b"F", Some(&socket)),
                    Err(errno) => {
                        let mut answer = vec![b'E'];
                        answer.extend_from_slice(&errno.raw_os_error().to_le_bytes());
                        control::send(control, &answer, None)
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
            [b'K', number] => {
                if let (Some(app), Some(signal)) = (app, Signal::from_named_raw(i32::from(*number)))
                {
                    let _ = rustix::process::kill_process(app, signal);
                }
            }
            _ => {}
        }
    }
    // crossguard is gone: the app goes with it.
    if let Some(app) = app {
        let _ = rustix::process::kill_process(app, Signal::KILL);
    }
}

/// The exit status crossguard reports: the app's code, or 128+N for signal N.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(1),
        (None, None) => 1,
    }
}

/// Processes the app left behind (reparented to this helper, a subreaper): SIGTERM, a moment,
/// then SIGKILL; every one is reaped.
fn end_descendants() {
    let me = rustix::process::getpid();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut signal = Signal::TERM;
    loop {
        let orphans = children_of(me);
        if orphans.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            signal = Signal::KILL;
        }
        for orphan in &orphans {
            let _ = rustix::process::kill_process(*orphan, signal);
        }
        std::thread::sleep(Duration::from_millis(20));
        while let Ok(Some(_)) = rustix::process::waitpid(None, rustix::process::WaitOptions::NOHANG)
        {
        }
        if signal == Signal::KILL && Instant::now() >= deadline + Duration::from_secs(2) {
            break;
        }
    }
}

/// The processes whose parent is `parent`, from `/proc`.
fn children_of(parent: rustix::process::Pid) -> Vec<rustix::process::Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_in_stat(&stat))
                == Some(parent.as_raw_nonzero().get())
        })
        .filter_map(sys::pid)
        .collect()
}

/// The parent's id in a `/proc/PID/stat` line: the second field after the command name, which
/// is parenthesised and may hold anything.
fn parent_in_stat(stat: &str) -> Option<i32> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_past_the_command_name() {
        assert_eq!(parent_in_stat("42 (python3) S 7 42 42 0 -1"), Some(7));
        // A name may hold spaces and parentheses.
        assert_eq!(parent_in_stat("42 (a) b (c) R 9 1 1"), Some(9));
        assert_eq!(parent_in_stat("42 (cut"), None);
        assert_eq!(parent_in_stat(""), None);
    }

    #[test]
    fn a_signal_becomes_128_plus_its_number() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
