//! Peer processes: the far end of every socket and pipe, in a separate process.
//!
//! The copier re-executes its own binary as `xtask bench-peer ...`. A peer either **sends**
//! a pattern stream (`--role send`), **receives** one and verifies every byte
//! (`--role recv`), or **serves** one HTTP request (`--role serve --dir DIR`, answered by
//! `examples/http`'s server from the files in DIR), over a transport:
//!
//! * `tcp:ADDR`  connect to the copier's TCP listener at ADDR (127.0.0.1 only);
//! * `unix:PATH` connect to the copier's unix stream listener at PATH;
//! * `stdio`     the payload is the peer's stdout (send) or stdin (recv), i.e. a pipe;
//! * `listener`  stdin is a listening loopback TCP socket the copier bound (serve): the
//!   peer accepts one connection on it after GO.
//!
//! Control protocol: the peer first connects to the copier's control socket (`--control`,
//! a unix stream socket), then opens its transport, and talks in text lines:
//!
//! ```text
//! peer -> copier   READY <id>        transport open, payload ready
//! copier -> peer   GO                start moving bytes (sent right before the timed region)
//! peer -> copier   DONE <bytes>      sent, received-and-verified, or served <bytes> bytes
//! peer -> copier   ERR <message>     anything went wrong (the peer then exits non-zero)
//! ```
//!
//! New kinds of peers (like the HTTP server of `http-download`) are a new `--role` and/or
//! `--transport` value plus their code in `run`; the control lines stay.
//!
//! Every wait is bounded: the peer exits by itself after `--deadline` seconds, data and
//! control sockets carry 60 s timeouts, and the copier polls accepts while checking that the
//! child is still alive. `Peer` kills and reaps its child when dropped on an error path.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fdcopy_testkit::{verify_reader, write_stream, Pattern, Verifier};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::http;

/// Timeout of every single blocking socket operation (data and control).
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a freshly spawned peer may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a peer does with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Write the pattern stream, then close.
    Send,
    /// Read to EOF, verifying every byte.
    Recv,
    /// Answer one HTTP request on the listener (`Transport::Listener`), files from `dir`.
    Serve,
}

/// Where the payload flows.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Connect to this loopback TCP address.
    Tcp(SocketAddr),
    /// Connect to this unix stream socket path.
    Unix(PathBuf),
    /// stdout (send) or stdin (recv), set up by the copier as a pipe.
    Stdio,
    /// stdin is a listening TCP socket (serve).
    Listener,
}

/// Everything a peer needs to know, passed on its command line.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    pub role: Role,
    pub transport: Transport,
    /// Pattern seed of the stream.
    pub seed: u64,
    /// Exact number of payload bytes to send or to expect.
    pub bytes: u64,
    /// The peer gives up and exits after this long.
    pub deadline: Duration,
    /// The directory a serving peer answers from (`--dir`); `None` for the other roles.
    pub dir: Option<PathBuf>,
}

impl PeerSpec {
    /// The command-line arguments after `bench-peer` (without `--id`/`--control`).
    fn to_args(&self) -> Vec<String> {
        let role = match self.role {
            Role::Send => "send",
            Role::Recv => "recv",
            Role::Serve => "serve",
        };
        let transport = match &self.transport {
            Transport::Tcp(a) => format!("tcp:{a}"),
            Transport::Unix(p) => format!("unix:{}", p.display()),
            Transport::Stdio => "stdio".to_string(),
            Transport::Listener => "listener".to_string(),
        };
        let dir = self.dir.as_ref().map(|d| ("--dir", d.display().to_string()));
        [
            ("--role", role.to_string()),
            ("--transport", transport),
            ("--seed", self.seed.to_string()),
            ("--bytes", self.bytes.to_string()),
            ("--deadline", self.deadline.as_secs().to_string()),
        ]
        .into_iter()
        .chain(dir)
        .flat_map(|(k, v)| [k.to_string(), v])
        .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Copier side
// ---------------------------------------------------------------------------------------

/// The copier's side of the control channel: where peers phone home.
pub struct Control {
    exe: PathBuf,
    path: PathBuf,
    listener: UnixListener,
    next_id: u64,
}

impl Control {
    /// Binds the control socket at `path`; peers are spawned from the current executable.
    pub fn bind(path: PathBuf) -> Result<Control, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let listener = UnixListener::bind(&path).map_err(|e| format!("bind {}: {e}", path.display()))?;
        Ok(Control {
            exe,
            path,
            listener,
            next_id: 1,
        })
    }
}

/// A running peer process, seen from the copier.
pub struct Peer {
    id: u64,
    /// `None` once reaped.
    child: Option<Child>,
    ctl: BufReader<UnixStream>,
}

impl Peer {
    /// Spawns a peer with the given stdin/stdout and waits for its control connection.
    pub fn spawn(control: &mut Control, spec: &PeerSpec, stdin: Stdio, stdout: Stdio) -> Result<Peer, String> {
        let id = control.next_id;
        control.next_id += 1;
        let child = Command::new(&control.exe)
            .arg("bench-peer")
            .args(["--id", &id.to_string(), "--control"])
            .arg(&control.path)
            .args(spec.to_args())
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning peer: {e}"))?;
        let mut child = KillOnDrop(Some(child));
        let (ctl, _) = accept_from(&control.listener, child.get(), "its control connection")?;
        set_timeouts_unix(&ctl)?;
        Ok(Peer {
            id,
            child: child.0.take(),
            ctl: BufReader::new(ctl),
        })
    }

    /// Accepts the peer's TCP data connection on `l`.
    pub fn accept_tcp(&mut self, l: &TcpListener) -> Result<TcpStream, String> {
        let (s, _) = accept_from(l, self.child_mut(), "its TCP connection")?;
        tune_tcp(&s)?;
        Ok(s)
    }

    /// Accepts the peer's unix data connection on `l`.
    pub fn accept_unix(&mut self, l: &UnixListener) -> Result<UnixStream, String> {
        let (s, _) = accept_from(l, self.child_mut(), "its unix connection")?;
        set_timeouts_unix(&s)?;
        Ok(s)
    }

    /// Waits for `READY <id>`.
    pub fn ready(&mut self) -> Result<(), String> {
        let line = self.read_line()?;
        if line != format!("READY {}", self.id) {
            return Err(format!("peer {}: expected READY, got {line:?}", self.id));
        }
        Ok(())
    }

    /// Tells the peer to start.
    pub fn go(&mut self) -> Result<(), String> {
        self.ctl
            .get_mut()
            .write_all(b"GO\n")
            .map_err(|e| format!("peer {}: sending GO: {e}", self.id))
    }

    /// Waits for `DONE <bytes>` and a successful exit; returns the bytes the peer moved.
    pub fn finish(mut self) -> Result<u64, String> {
        let line = self.read_line()?;
        let bytes = line
            .strip_prefix("DONE ")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("peer {}: expected DONE, got {line:?}", self.id))?;
        let status = wait_bounded(self.child_mut(), IO_TIMEOUT)?;
        self.child = None;
        if !status.success() {
            return Err(format!("peer {} exited with {status}", self.id));
        }
        Ok(bytes)
    }

    /// After a failed copy: the `ERR` message the peer sent, if any arrives within 2 s.
    ///
    /// A peer that finds a wrong byte reports it and exits, so the copier's own error is
    /// then only a reset connection or a broken pipe; this recovers the actual reason.
    pub fn failure(&mut self) -> Option<String> {
        let _ = self.ctl.get_ref().set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        loop {
            line.clear();
            match self.ctl.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {
                    if let Some(msg) = line.trim_end().strip_prefix("ERR ") {
                        return Some(format!("peer {}: {msg}", self.id));
                    }
                }
            }
        }
    }

    /// The child; only `None` after `finish`, which consumes `self`.
    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("peer already reaped")
    }

    /// Reads one control line; an `ERR` line or EOF becomes an error.
    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.ctl.read_line(&mut line) {
            Ok(0) => Err(format!("peer {} closed its control connection", self.id)),
            Ok(_) => {
                let line = line.trim_end().to_string();
                match line.strip_prefix("ERR ") {
                    Some(msg) => Err(format!("peer {}: {msg}", self.id)),
                    None => Ok(line),
                }
            }
            Err(e) => Err(format!("peer {}: reading control: {e}", self.id)),
        }
    }
}

impl Drop for Peer {
    /// Never leave a child behind: kill and reap it if `finish` did not.
    fn drop(&mut self) {
        drop(KillOnDrop(self.child.take()));
    }
}

/// Kills and reaps the child it holds when dropped.
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn get(&mut self) -> &mut Child {
        self.0.as_mut().expect("child present")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A listener we can accept from after polling.
pub trait Listener: AsFd {
    type Stream;
    type Addr;
    fn accept_now(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    type Addr = SocketAddr;
    fn accept_now(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept()
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    type Addr = std::os::unix::net::SocketAddr;
    fn accept_now(&self) -> io::Result<(UnixStream, Self::Addr)> {
        self.accept()
    }
}

/// Accepts one connection, giving up when `child` exits first or after `CONNECT_TIMEOUT`.
fn accept_from<L: Listener>(l: &L, child: &mut Child, what: &str) -> Result<(L::Stream, L::Addr), String> {
    let end = Instant::now() + CONNECT_TIMEOUT;
    while !readable(l.as_fd(), Duration::from_millis(50))? {
        if let Some(status) = child.try_wait().map_err(|e| format!("try_wait: {e}"))? {
            return Err(format!("peer exited ({status}) before {what}"));
        }
        if Instant::now() > end {
            return Err(format!("peer did not open {what} within {CONNECT_TIMEOUT:?}"));
        }
    }
    l.accept_now().map_err(|e| format!("accept: {e}"))
}

/// Polls `fd` for readability for at most `timeout`.
fn readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool, String> {
    let ts = Timespec::try_from(timeout).map_err(|e| format!("timeout: {e}"))?;
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    match poll(&mut fds, Some(&ts)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(format!("poll: {e}")),
    }
}

/// Waits for `child` to exit, killing it after `timeout`.
fn wait_bounded(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("try_wait: {e}"))? {
            return Ok(status);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("peer did not exit within {timeout:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The socket options every TCP stream gets, on both sides and for every engine alike:
/// Nagle on (TCP_NODELAY off, the kernel default), default buffer sizes, 60 s timeouts.
pub fn tune_tcp(s: &TcpStream) -> Result<(), String> {
    s.set_nodelay(false)
        .and_then(|()| s.set_read_timeout(Some(IO_TIMEOUT)))
        .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))
}

/// 60 s timeouts on a unix stream socket.
fn set_timeouts_unix(s: &UnixStream) -> Result<(), String> {
    s.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))
}

// ---------------------------------------------------------------------------------------
// Peer side
// ---------------------------------------------------------------------------------------

/// Entry point of `xtask bench-peer`.
pub fn main(args: &[String]) -> Result<ExitCode, String> {
    let (id, control, spec) = parse_args(args)?;
    start_watchdog(spec.deadline);
    let ctl = UnixStream::connect(&control).map_err(|e| format!("bench-peer: control {}: {e}", control.display()))?;
    // No read timeout here: the wait for GO may include the copier pre-allocating a large
    // destination file; the watchdog bounds it.
    ctl.set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| format!("bench-peer: {e}"))?;
    let mut ctl_in = BufReader::new(ctl.try_clone().map_err(|e| e.to_string())?);
    let mut ctl_out = ctl;
    match run(id, &spec, &mut ctl_in, &mut ctl_out) {
        Ok(bytes) => {
            writeln!(ctl_out, "DONE {bytes}").map_err(|e| format!("bench-peer: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = writeln!(ctl_out, "ERR {}", e.replace('\n', " "));
            Err(format!("bench-peer {id}: {e}"))
        }
    }
}

/// Opens the transport, reports READY, waits for GO, moves the stream.
fn run(id: u64, spec: &PeerSpec, ctl_in: &mut impl BufRead, ctl_out: &mut impl Write) -> Result<u64, String> {
    if spec.role == Role::Serve {
        return serve(id, spec, ctl_in, ctl_out);
    }
    let pattern = Pattern::new();
    let mut conn = Conn::open(&spec.transport, spec.role)?;
    ready_go(id, ctl_in, ctl_out)?;
    match spec.role {
        Role::Send => {
            write_stream(&pattern, spec.seed, spec.bytes, &mut conn).map_err(|e| format!("sending: {e}"))?;
            conn.close();
            Ok(spec.bytes)
        }
        Role::Recv => {
            let mut v = Verifier::new(&pattern, spec.seed, 0);
            let n = verify_reader(&mut conn, &mut v, spec.bytes)?;
            if n != spec.bytes {
                return Err(format!("received {n} bytes, expected {}", spec.bytes));
            }
            Ok(n)
        }
        Role::Serve => unreachable!("handled by serve"),
    }
}

/// Reports READY and waits for GO.
fn ready_go(id: u64, ctl_in: &mut impl BufRead, ctl_out: &mut impl Write) -> Result<(), String> {
    writeln!(ctl_out, "READY {id}").map_err(|e| format!("control: {e}"))?;
    let mut line = String::new();
    ctl_in.read_line(&mut line).map_err(|e| format!("control: {e}"))?;
    if line.trim_end() != "GO" {
        return Err(format!("expected GO, got {line:?}"));
    }
    Ok(())
}

/// `--role serve`: after GO, accepts one connection on the listener that is our stdin and
/// answers it with `examples/http`'s server (`handle`: one request, then close); the request
/// must get a 200 with exactly `spec.bytes` body bytes.
fn serve(id: u64, spec: &PeerSpec, ctl_in: &mut impl BufRead, ctl_out: &mut impl Write) -> Result<u64, String> {
    if !matches!(spec.transport, Transport::Listener) {
        return Err("--role serve needs --transport listener".into());
    }
    let dir = spec.dir.clone().ok_or("--role serve needs --dir")?;
    let fd = io::stdin().as_fd().try_clone_to_owned();
    let listener = TcpListener::from(fd.map_err(|e| format!("dup: {e}"))?);
    listener
        .local_addr()
        .map_err(|e| format!("stdin is not a TCP listener: {e}"))?;
    ready_go(id, ctl_in, ctl_out)?;
    if !readable(listener.as_fd(), IO_TIMEOUT)? {
        return Err(format!("no connection within {IO_TIMEOUT:?}"));
    }
    let (stream, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let config = http::ServeConfig {
        dir,
        test_paths: false,
        log: false,
    };
    let served = http::handle(stream, &config).map_err(|e| format!("serving: {e}"))?;
    if served.status != 200 || served.sent != spec.bytes {
        return Err(format!(
            "answered {:?} with {} and {} body bytes, expected 200 and {}",
            served.request, served.status, served.sent, spec.bytes
        ));
    }
    Ok(served.sent)
}

/// Exits the process once `deadline` has passed, whatever the main thread is blocked on.
fn start_watchdog(deadline: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!("bench-peer: deadline of {deadline:?} passed, exiting");
        std::process::exit(3);
    });
}

/// Parses `--id N --control PATH --role R --transport T --seed S --bytes N --deadline SECS`
/// and, for a serving peer, `--dir DIR`.
fn parse_args(args: &[String]) -> Result<(u64, PathBuf, PeerSpec), String> {
    let get = |key: &str| -> Result<&str, String> {
        args.iter()
            .position(|a| a == key)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
            .ok_or_else(|| format!("bench-peer: missing {key}"))
    };
    let num = |key: &str| -> Result<u64, String> { get(key)?.parse().map_err(|_| format!("bench-peer: bad {key}")) };
    let role = match get("--role")? {
        "send" => Role::Send,
        "recv" => Role::Recv,
        "serve" => Role::Serve,
        r => return Err(format!("bench-peer: bad --role {r:?}")),
    };
    let t = get("--transport")?;
    let transport = if let Some(a) = t.strip_prefix("tcp:") {
        Transport::Tcp(a.parse().map_err(|_| format!("bench-peer: bad address {a:?}"))?)
    } else if let Some(p) = t.strip_prefix("unix:") {
        Transport::Unix(PathBuf::from(p))
    } else if t == "stdio" {
        Transport::Stdio
    } else if t == "listener" {
        Transport::Listener
    } else {
        return Err(format!("bench-peer: bad --transport {t:?}"));
    };
    let spec = PeerSpec {
        role,
        transport,
        seed: num("--seed")?,
        bytes: num("--bytes")?,
        deadline: Duration::from_secs(num("--deadline")?),
        dir: get("--dir").ok().map(PathBuf::from),
    };
    Ok((num("--id")?, PathBuf::from(get("--control")?), spec))
}

/// The peer's end of the payload channel.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
    Pipe(File),
}

impl Conn {
    /// Connects or takes over stdin/stdout, depending on the transport.
    fn open(t: &Transport, role: Role) -> Result<Conn, String> {
        match t {
            Transport::Tcp(addr) => {
                let s =
                    TcpStream::connect_timeout(addr, CONNECT_TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
                tune_tcp(&s)?;
                Ok(Conn::Tcp(s))
            }
            Transport::Unix(path) => {
                let s = connect_unix(path)?;
                set_timeouts_unix(&s)?;
                Ok(Conn::Unix(s))
            }
            Transport::Stdio => {
                let fd = match role {
                    Role::Send => io::stdout().as_fd().try_clone_to_owned(),
                    Role::Recv | Role::Serve => io::stdin().as_fd().try_clone_to_owned(),
                };
                Ok(Conn::Pipe(File::from(fd.map_err(|e| format!("dup: {e}"))?)))
            }
            Transport::Listener => Err("--transport listener is only for --role serve".into()),
        }
    }

    /// Signals EOF to the other side as far as this end can.
    fn close(self) {
        match self {
            Conn::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            Conn::Unix(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            // The pipe is also our stdout (fd 1): the reader sees EOF when the process exits.
            Conn::Pipe(_) => {}
        }
    }
}

/// Connects to a unix stream socket.
fn connect_unix(path: &Path) -> Result<UnixStream, String> {
    UnixStream::connect(path).map_err(|e| format!("connect {}: {e}", path.display()))
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            Conn::Pipe(f) => f.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Pipe(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
