//! The few system calls `crossguard run` needs that no safe wrapper offers: setting up a child's
//! namespaces between `fork` and `exec`, bringing a namespace's loopback up, and taking over the
//! control socket a helper inherits by number.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::fd::AsFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::FdFlags;
use rustix::process::{Pid, Signal};
use rustix::thread::UnshareFlags;

/// Makes `command` start in a new network namespace and, unless the caller is root, a new user
/// namespace where the caller's uid and gid are root (one id each, no supplementary groups):
/// the capabilities it needs there (to bring the loopback up) count only in its own
/// namespaces. Keeps `control` open across `exec`; kills the child when the thread that spawns
/// it ends.
pub(super) fn isolate(command: &mut Command, control: OwnedFd) {
    let user = !rustix::process::geteuid().is_root();
    // Formatted before `fork`: the child may not allocate.
    let uid_map = format!("0 {} 1\n", rustix::process::geteuid().as_raw());
    let gid_map = format!("0 {} 1\n", rustix::process::getegid().as_raw());
    let parent = rustix::process::getpid();
    let setup = move || -> io::Result<()> {
        rustix::io::fcntl_setfd(control.as_fd(), FdFlags::empty())?;
        let mut flags = UnshareFlags::NEWNET;
        if user {
            flags |= UnshareFlags::NEWUSER;
        }
        // SAFETY: `NEWNET` and `NEWUSER` unshare no file descriptor table, the hazard
        // `unshare_unsafe` documents; the child is single-threaded until `exec`.
        unsafe { rustix::thread::unshare_unsafe(flags) }?;
        if user {
            // An unprivileged process must give up `setgroups` before it may map its gid.
            write_file("/proc/self/setgroups", b"deny")?;
            write_file("/proc/self/uid_map", uid_map.as_bytes())?;
            write_file("/proc/self/gid_map", gid_map.as_bytes())?;
        }
        die_with(parent)
    };
    // SAFETY: `setup` only makes system calls (no allocation, no lock): it is safe between
    // `fork` and `exec` in a multi-threaded process.
    unsafe {
        command.pre_exec(setup);
    }
}

/// Makes `command` die when the thread that spawns it ends (the helper's main thread).
pub(super) fn die_with_parent(command: &mut Command) {
    let parent = rustix::process::getpid();
    let setup = move || die_with(parent);
    // SAFETY: as in `isolate`, only system calls between `fork` and `exec`.
    unsafe {
        command.pre_exec(setup);
    }
}

/// Between `fork` and `exec`: SIGKILL when the spawning thread of `parent` ends. The parent may
/// have died before this call; then nothing would kill the child, which gives up (`ESRCH`).
fn die_with(parent: Pid) -> io::Result<()> {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
    if rustix::process::getppid() != Some(parent) {
        return Err(io::Error::from_raw_os_error(
            rustix::io::Errno::SRCH.raw_os_error(),
        ));
    }
    Ok(())
}

/// Writes `data` to the file at `path` in one `write` (as `/proc/self/uid_map` requires).
fn write_file(path: &str, data: &[u8]) -> io::Result<()> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    let written = rustix::io::write(&fd, data)?;
    if written == data.len() {
        Ok(())
    } else {
        Err(io::Error::from(io::ErrorKind::WriteZero))
    }
}

/// The control socket the helper inherited as `fd`.
pub(super) fn inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // Only a socket counts: a stray number must not take over an unrelated descriptor.
    if fd < 3 {
        return Err(io::Error::from_raw_os_error(
            rustix::io::Errno::BADF.raw_os_error(),
        ));
    }
    // SAFETY: the parent passed this descriptor, open and owned by nobody else in this process,
    // on the command line; it is checked to be a socket below.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    rustix::net::sockopt::socket_type(&owned)?;
    rustix::io::fcntl_setfd(&owned, FdFlags::CLOEXEC)?;
    Ok(owned)
}

/// `struct ifreq` with its flags member (`ifr_flags`), as `SIOCGIFFLAGS`/`SIOCSIFFLAGS` use it.
#[repr(C)]
#[derive(Clone, Copy)]
struct IfReqFlags {
    name: [u8; 16],
    flags: i16,
    /// The rest of the union (`struct ifreq` is 40 bytes on 64-bit Linux).
    _rest: [u8; 22],
}

/// `SIOCGIFFLAGS` and `SIOCSIFFLAGS` (linux/sockios.h).
const SIOCGIFFLAGS: rustix::ioctl::Opcode = 0x8913;
const SIOCSIFFLAGS: rustix::ioctl::Opcode = 0x8914;
/// `IFF_UP` (linux/if.h).
const IFF_UP: i16 = 0x1;

/// Brings the current network namespace's loopback interface up.
pub(super) fn loopback_up() -> io::Result<()> {
    let socket = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )?;
    let mut request = IfReqFlags {
        name: [0; 16],
        flags: 0,
        _rest: [0; 22],
    };
    if let Some(name) = request.name.get_mut(..2) {
        name.copy_from_slice(b"lo");
    }
    // SAFETY: SIOCGIFFLAGS reads and writes a `struct ifreq`, which `IfReqFlags` lays out.
    unsafe {
        rustix::ioctl::ioctl(
            &socket,
            rustix::ioctl::Updater::<SIOCGIFFLAGS, IfReqFlags>::new(&mut request),
        )
    }?;
    request.flags |= IFF_UP;
    // SAFETY: SIOCSIFFLAGS reads a `struct ifreq`, which `IfReqFlags` lays out.
    unsafe {
        rustix::ioctl::ioctl(
            &socket,
            rustix::ioctl::Setter::<SIOCSIFFLAGS, IfReqFlags>::new(request),
        )
    }?;
    Ok(())
}

/// `pid` as rustix takes it.
pub(super) fn pid(raw: u32) -> Option<Pid> {
    i32::try_from(raw).ok().and_then(Pid::from_raw)
}
