//! A subreaper per process the server starts, so that nothing a session started outlives it:
//! not `sh -c "sleep 9 | cat"`'s children, not `setsid sleep 9`, not even when the server is
//! killed with SIGKILL.
//!
//! The server's child (the one `tokio::process` knows) forks once more in `pre_exec`: the new
//! child goes on to exec the program; the server's child stays behind as the *reaper*. It marks
//! itself a child subreaper (`PR_SET_CHILD_SUBREAPER`), so every orphan below it — double forks,
//! `setsid`, daemons — is re-parented to it rather than to init. It ends, killing everything
//! below it first, when
//! - the program exits (it then exits with the program's status, so the server sees that), or
//! - it gets SIGTERM: from the server when the client leaves, or as its parent-death signal
//!   when the server dies (even by SIGKILL), or
//! - its parent is no longer the server (a missed parent-death signal).
//!
//! Killing "everything below" walks `/proc/thread-self/children` (or, where the kernel lacks
//! `CONFIG_PROC_CHILDREN`, every `/proc/PID/stat` whose parent is the reaper), SIGKILLs what
//! it lists, reaps, and repeats until no child is left: each killed process's own children are
//! re-parented to the reaper and listed next round. A process is only ever signalled while it is
//! the reaper's unreaped child, so a recycled pid is never hit.
//!
//! Everything here runs in a child forked from a multi-threaded process before exec: only
//! async-signal-safe system calls, no allocation, no locks.

use libc::{c_int, c_long, pid_t};
use std::io;
use std::mem::MaybeUninit;

/// How often the reaper checks that the server is still its parent.
const CHECK_EVERY: libc::timespec = libc::timespec {
    tv_sec: 1,
    tv_nsec: 0,
};

/// Forks the program off and keeps this process as its reaper. In the program's process,
/// returns `Ok` (the caller goes on to exec); in the reaper, never returns.
///
/// `server` is the server's pid; `nofile` the file-descriptor limit to give the program back
/// (the server raised its own).
///
/// # Safety
/// Only in a `pre_exec` closure, in the freshly forked child.
pub unsafe fn split(server: pid_t, nofile: Option<libc::rlimit>) -> io::Result<()> {
    // Block every signal first, so that no SIGTERM can end the reaper before it waits for one;
    // the program gets its mask back below.
    let mut all = sigset(&[]);
    libc::sigfillset(&mut all);
    let mut before = sigset(&[]);
    libc::sigprocmask(libc::SIG_SETMASK, &all, &mut before);
    let restore = |before: &libc::sigset_t| {
        libc::sigprocmask(libc::SIG_SETMASK, before, std::ptr::null_mut());
    };
    if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as c_long, 0, 0, 0) != 0 {
        let e = io::Error::last_os_error();
        restore(&before);
        return Err(e);
    }
    let reaper = libc::getpid();
    // A plain fork through the raw system call: libc's fork() would run the atfork handlers,
    // which are not safe in a child of a multi-threaded process.
    let child = libc::syscall(libc::SYS_clone, libc::SIGCHLD as c_long, 0, 0, 0, 0) as pid_t;
    if child < 0 {
        let e = io::Error::last_os_error();
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0 as c_long, 0, 0, 0);
        restore(&before);
        return Err(e);
    }
    if child == 0 {
        // The program. It dies with its reaper (which never leaves before it anyway).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_long, 0, 0, 0);
        if libc::getppid() != reaper {
            libc::_exit(127);
        }
        if let Some(limit) = nofile {
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        restore(&before);
        return Ok(());
    }
    reap(child, server)
}

fn sigset(signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset only writes into it.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// The reaper's life: wait for the program's exit or for SIGTERM, then kill the tree and exit
/// with the program's status.
unsafe fn reap(main: pid_t, server: pid_t) -> ! {
    // SIGTERM when the server dies; checked right after, in case it died already.
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as c_long, 0, 0, 0);
    libc::prctl(libc::PR_SET_NAME, c"kew-reaper".as_ptr() as c_long, 0, 0, 0);
    // Hold no descriptor: not the session's pipes (their readers would never see EOF), nor
    // anything else the server had open (other sessions' sockets and pipes).
    close_all_fds();
    libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    let wanted = sigset(&[libc::SIGCHLD, libc::SIGTERM]);
    let mut status: Option<c_int> = None;
    loop {
        let _ = reap_exited(main, &mut status);
        if status.is_some() || libc::getppid() != server {
            break;
        }
        if libc::sigtimedwait(&wanted, std::ptr::null_mut(), &CHECK_EVERY) == libc::SIGTERM {
            break;
        }
    }
    kill_tree(main, &mut status);
    let code = match status {
        Some(st) if libc::WIFEXITED(st) => libc::WEXITSTATUS(st),
        Some(st) if libc::WIFSIGNALED(st) => 128 + libc::WTERMSIG(st),
        _ => 128 + libc::SIGKILL,
    };
    libc::_exit(code)
}

/// Reaps every child that has exited; `Err` once there are no children at all.
unsafe fn reap_exited(main: pid_t, status: &mut Option<c_int>) -> Result<(), ()> {
    loop {
        let mut st: c_int = 0;
        let pid = libc::waitpid(-1, &mut st, libc::WNOHANG);
        if pid > 0 {
            if pid == main {
                *status = Some(st);
            }
            continue;
        }
        return if pid == 0 { Ok(()) } else { Err(()) };
    }
}

/// SIGKILLs every child, reaps, and repeats until none is left.
unsafe fn kill_tree(main: pid_t, status: &mut Option<c_int>) {
    let me = libc::getpid();
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 2_000_000,
    };
    loop {
        let kill = |pid: pid_t| {
            libc::kill(pid, libc::SIGKILL);
        };
        if for_each_listed_child(kill).is_err() {
            for_each_child_in_proc(me, kill);
        }
        if reap_exited(main, status).is_err() {
            return;
        }
        libc::nanosleep(&pause, std::ptr::null_mut());
    }
}

/// Calls `f` for each pid in `/proc/thread-self/children`; `Err` if the file cannot be read.
unsafe fn for_each_listed_child(f: impl Fn(pid_t)) -> Result<(), ()> {
    let fd = libc::open(
        c"/proc/thread-self/children".as_ptr(),
        libc::O_RDONLY | libc::O_CLOEXEC,
    );
    if fd < 0 {
        return Err(());
    }
    let mut buf = [0u8; 1024];
    let mut pid: pid_t = 0;
    loop {
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        if n <= 0 {
            break;
        }
        for &b in &buf[..n as usize] {
            if b.is_ascii_digit() {
                pid = pid.saturating_mul(10).saturating_add(pid_t::from(b - b'0'));
            } else if pid > 0 {
                f(pid);
                pid = 0;
            }
        }
    }
    if pid > 0 {
        f(pid);
    }
    libc::close(fd);
    Ok(())
}

/// The fallback: every `/proc/PID/stat` whose parent pid is `parent`.
unsafe fn for_each_child_in_proc(parent: pid_t, f: impl Fn(pid_t)) {
    let dir = libc::open(
        c"/proc".as_ptr(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
    );
    if dir < 0 {
        return;
    }
    let mut entries = [0u8; 4096];
    loop {
        let n = libc::syscall(
            libc::SYS_getdents64,
            dir,
            entries.as_mut_ptr(),
            entries.len(),
        );
        if n <= 0 {
            break;
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
            let reclen = u16::from_ne_bytes([entries[off + 16], entries[off + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &entries[off + 19..(off + reclen).min(n as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(pid) = parse_pid(name) {
                if parent_of(name) == Some(parent) {
                    f(pid);
                }
            }
            off += reclen;
        }
    }
    libc::close(dir);
}

fn parse_pid(name: &[u8]) -> Option<pid_t> {
    if name.is_empty() || name.len() > 9 || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        name.iter()
            .fold(0 as pid_t, |acc, &b| acc * 10 + pid_t::from(b - b'0')),
    )
}

/// The parent pid in `/proc/<name>/stat` (the fourth field, after the command in parentheses).
unsafe fn parent_of(name: &[u8]) -> Option<pid_t> {
    let mut path = [0u8; 32];
    let parts: [&[u8]; 3] = [b"/proc/", name, b"/stat\0"];
    let mut len = 0;
    for p in parts {
        path.get_mut(len..len + p.len())?.copy_from_slice(p);
        len += p.len();
    }
    let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 512];
    let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
    libc::close(fd);
    if n <= 0 {
        return None;
    }
    let stat = &buf[..n as usize];
    let after = stat.iter().rposition(|&b| b == b')')?;
    // ") S 1234 ..."
    let mut fields = stat[after + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let _state = fields.next()?;
    parse_pid(fields.next()?)
}

/// Closes every descriptor (close_range, or one by one below the limit on older kernels).
unsafe fn close_all_fds() {
    if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) == 0 {
        return;
    }
    let mut limit = MaybeUninit::<libc::rlimit>::zeroed().assume_init();
    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(1 << 16) as c_int
    } else {
        1024
    };
    for fd in 0..max {
        libc::close(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_parents_from_proc() {
        assert_eq!(parse_pid(b"1234"), Some(1234));
        assert_eq!(parse_pid(b"self"), None);
        assert_eq!(parse_pid(b""), None);
        let me = std::process::id().to_string();
        let parent = std::os::unix::process::parent_id() as pid_t;
        // SAFETY: reads /proc only.
        assert_eq!(unsafe { parent_of(me.as_bytes()) }, Some(parent));
        let found = std::cell::Cell::new(false);
        // SAFETY: reads /proc only; the closure only records.
        unsafe {
            for_each_child_in_proc(parent, |pid| {
                if pid == std::process::id() as pid_t {
                    found.set(true);
                }
            })
        };
        let found = found.get();
        assert!(found, "the /proc scan finds this process under its parent");
    }
}
