//! kube-exec-devserver: a local Kubernetes-compatible exec/attach API server over real
//! processes, for kube-exec-wasm's tests and demo. See README.md.
//!
//! The server side of the protocol is written here independently of the SDK's codec, so that
//! each checks the other.

pub mod api;
pub mod attach;
pub mod connections;
pub mod exec;
pub mod files;
pub mod log;
pub mod pods;
pub mod process;
pub mod reaper;
pub mod reply;
pub mod scripted;
pub mod server;
pub mod session;
pub mod status;
pub mod streaming;
pub mod tls;
pub mod wire;

use clap::Parser;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use log::log;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The environment variable that may hold the token (instead of `--token`, which every local
/// user can read in the process list). Never passed on to the processes the server starts.
pub const TOKEN_ENV: &str = "KEW_DEVSERVER_TOKEN";

/// Command line (README.md, CONTRACTS.md "devserver CLI contract").
#[derive(Debug, Parser)]
#[command(
    name = "kube-exec-devserver",
    version,
    about = "A local Kubernetes-compatible exec/attach API server over real processes"
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer token clients must present (default: random, never logged). Command lines are
    /// visible to every local user (ps, /proc): prefer --token-file or KEW_DEVSERVER_TOKEN.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from this file (surrounding whitespace ignored). Without --token and
    /// --token-file, the environment variable KEW_DEVSERVER_TOKEN is used if set.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Serve static files from this directory on the same origin.
    #[arg(long)]
    pub www: Option<PathBuf>,
    /// Serve https with a certificate generated at start-up.
    #[arg(long)]
    pub tls: bool,
    /// Serve https with this PEM certificate (chain); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Write a kubeconfig (server URL, CA, token) to this path: a new mode-0600 file renamed
    /// over it (a symlink there is replaced, not followed).
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
    /// Pods to serve, from a TOML file (default: the built-in demo/echo/two/stopped).
    #[arg(long)]
    pub pods: Option<PathBuf>,
    /// Another Origin allowed to call the API (repeatable; '*' allows any).
    #[arg(long = "allow-origin")]
    pub allow_origin: Vec<String>,
    /// Another Host name to serve --www files for (repeatable); by default only loopback
    /// names and the listen address, so that DNS rebinding cannot read them.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Add the fault-injection pods (fault-*).
    #[arg(long)]
    pub faults: bool,
    /// Add the bench pod (bulk/small/echo produced in-server).
    #[arg(long)]
    pub bench: bool,
    /// Connections held at once (sessions included); more are answered 429 (the health
    /// endpoints still 200). Default: what the file-descriptor limit allows.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Cut a session's connection when no data frame has come from the client for this many
    /// seconds (like a load balancer's idle limit; an empty stdin frame counts). Default: off.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub idle_timeout: Option<Duration>,
}

/// A positive number of seconds (fractions allowed), as a `Duration`.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 1e9) {
        return Err(format!("{s:?}: must be more than 0 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// File descriptors kept aside for the listener, the runtime and files.
const RESERVED_FDS: u64 = 64;
/// At most this many descriptors per connection: the socket, and for an exec on pipes stdin,
/// stdout, stderr and the child's pidfd (a PTY needs fewer).
const FDS_PER_CONNECTION: u64 = 6;

/// The default `--max-connections` for a soft fd limit.
fn default_max_connections(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION).clamp(1, 16384) as usize
}

/// Something a connection can be served over: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// The TLS handshake if there is one; `None` (logged) if it fails.
async fn handshake(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> Option<Box<dyn Io>> {
    let Some(acceptor) = acceptor else {
        return Some(Box::new(stream));
    };
    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(Box::new(tls)),
        Ok(Err(e)) => {
            log!("tls handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            log!("tls handshake with {peer} timed out");
            None
        }
    }
}

/// The token and where it came from: `--token`, `--token-file`, `KEW_DEVSERVER_TOKEN`, or random.
fn token(args: &Args) -> Result<(String, &'static str), String> {
    let (token, from) = if let Some(t) = &args.token {
        (t.clone(), "from --token")
    } else if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
        (text.trim().to_string(), "from --token-file")
    } else if let Some(t) = std::env::var_os(TOKEN_ENV) {
        let t = t
            .into_string()
            .map_err(|_| format!("{TOKEN_ENV} is not UTF-8"))?;
        (t.trim().to_string(), "from KEW_DEVSERVER_TOKEN")
    } else {
        return Ok((
            random_token(),
            "random (GET /.devserver/token from loopback, or the kubeconfig)",
        ));
    };
    if token.is_empty() {
        return Err(format!("the token ({}) must not be empty", &from[5..]));
    }
    if token.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "the token ({}) must be visible ASCII without spaces",
            &from[5..]
        ));
    }
    Ok((token, from))
}

fn random_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts the server and serves until the process is stopped.
pub async fn run(args: Args) -> Result<(), String> {
    // Raise the soft fd limit to the hard one first (programs started get the old one back).
    let (old_nofile, nofile) = match process::raise_fd_limit() {
        Ok(limits) => limits,
        Err(e) => {
            log!("cannot raise the file-descriptor limit: {e}");
            (1024, 1024)
        }
    };
    let connections = connections::Connections::new(match args.max_connections {
        Some(n) => n as usize,
        None => default_max_connections(nofile),
    });
    let configs = match &args.pods {
        Some(path) => pods::load(path)?,
        None => pods::builtin(),
    };
    let pods = pods::build(configs, args.faults, args.bench)?;
    let (token, token_from) = token(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(tls::load(c, k)?),
        _ if args.tls => Some(tls::generate()?),
        _ => None,
    };
    if let Some(www) = &args.www {
        if !www.is_dir() {
            return Err(format!("--www {}: not a directory", www.display()));
        }
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("local address: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let port = local.port();
    let host = match local.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = format!("{scheme}://{host}:{port}");
    let mut own_origins: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .map(|h| format!("{scheme}://{h}:{port}"))
        .collect();
    if !own_origins.contains(&url) {
        own_origins.push(url.clone());
    }
    let allow_any_origin = args.allow_origin.iter().any(|o| o == "*");
    if let Some(path) = &args.write_kubeconfig {
        // kubectl names loopback hosts by IP; 0.0.0.0 / :: would not be reachable as such.
        let server_url = if local.ip().is_unspecified() {
            format!("{scheme}://127.0.0.1:{port}")
        } else {
            url.clone()
        };
        tls::write_kubeconfig(
            path,
            &server_url,
            &token,
            tls.as_ref().map(|t| t.ca_pem.as_str()),
        )?;
    }
    let ctx = Arc::new(server::Ctx {
        token,
        scheme,
        port,
        own_origins,
        allowed_origins: args.allow_origin.clone(),
        allow_any_origin,
        allowed_hosts: args
            .allow_host
            .iter()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        listen_ip: (!local.ip().is_unspecified()).then(|| local.ip()),
        pods,
        www: args.www.clone(),
        sessions: streaming::Sessions {
            hub: Arc::new(attach::Hub::default()),
            idle_timeout: args.idle_timeout,
        },
    });
    // The first stdout line is the contract with scripts/lib.sh.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {url}");
        let _ = out.flush();
    }
    log!(
        "{} pods; token: {}; origins allowed: own{}{}{}",
        ctx.pods.len(),
        token_from,
        if allow_any_origin { ", any" } else { "" },
        if args.allow_origin.iter().any(|o| o != "*") {
            ", "
        } else {
            ""
        },
        args.allow_origin
            .iter()
            .filter(|o| *o != "*")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(path) = &args.write_kubeconfig {
        log!("kubeconfig written to {}", path.display());
    }
    if let Some(idle) = args.idle_timeout {
        log!(
            "sessions without a data frame from the client for {:?} are cut",
            idle
        );
    }
    log!(
        "file-descriptor limit {nofile}{}; up to {} connections",
        if old_nofile < nofile {
            format!(" (raised from {old_nofile})")
        } else {
            String::new()
        },
        connections.max()
    );
    if scheme == "http" {
        log!("plain http: kubectl sends no bearer token over http; use --tls for kubectl");
    }
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    tokio::spawn(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        // Every process's reaper gets SIGTERM as its parent-death signal and kills its tree.
        std::process::exit(0);
    });
    let mut refused_since: Option<std::time::Instant> = None;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                log!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new());
        let Some(slot) = connections.take() else {
            // Over the limit: a quick 429 (health checks still pass), or nothing at all when
            // even the refusals are too many.
            let Some(refusal) = connections.take_refusal() else {
                continue;
            };
            // Logged once, and again at most every 10 s while it goes on.
            if refused_since.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                log!(
                    "{} connections open: refusing more with 429 until some close",
                    connections.max()
                );
                refused_since = Some(std::time::Instant::now());
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Some(io) = handshake(stream, peer, acceptor).await else {
                    return;
                };
                builder
                    .keep_alive(false)
                    .header_read_timeout(Duration::from_secs(5));
                let service = service_fn(|req| async move {
                    Ok::<_, std::convert::Infallible>(server::over_capacity(&req))
                });
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    builder.serve_connection(TokioIo::new(io), service),
                )
                .await;
                drop(refusal);
            });
            continue;
        };
        // The session watches this socket for the peer hanging up while it does not read; it
        // stays open as long as the connection (hyper's upgraded socket owns the stream).
        let client = connections::Client {
            addr: peer,
            socket: session::PeerSocket::new(Some(std::os::fd::AsRawFd::as_raw_fd(&stream))),
            slot,
        };
        let ctx = ctx.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Some(io) = handshake(stream, peer, acceptor).await else {
                return;
            };
            let service = service_fn(move |req| server::handle(req, ctx.clone(), client.clone()));
            builder.header_read_timeout(Duration::from_secs(30));
            let result = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades()
                .await;
            if let Err(e) = result {
                if !e.is_incomplete_message() {
                    log!("connection from {peer}: {e}");
                }
            }
        });
    }
}
