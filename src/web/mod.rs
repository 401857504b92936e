//! The browser SDK for JavaScript, over the sans-IO core: `exec()` and `attach()`, and the
//! console toolkit around them: `openShell()` (shell.rs), `getPod()` (pod.rs) and `record()`
//! (an asciicast v2 tee, session.rs and glue.js `Recorder`).
//!
//! Compiled only for `wasm32`. The glue moves messages between the browser's `WebSocket` and
//! [`crate::session::Session`]: for each message, glue.js passes its kind, first byte and
//! length to the core's `route` (`SessionHandle::route`: one call into wasm, numbers only)
//! and, for stdout and stderr, hands the JS stream a view of the received `ArrayBuffer` —
//! payloads never enter wasm memory. Only what the core must read (the status, frames on other
//! channels) is copied in. Rust owns the socket, the session state and the timers' deadlines;
//! the exported functions are async Rust (futures, wasm-bindgen-futures) and the REST calls
//! go through gloo-net.

mod bindings;
mod errors;
mod options;
mod pod;
mod preflight;
mod session;
mod shell;
mod transfer;

use wasm_bindgen::prelude::*;

// A small allocator: the glue allocates little (stdin frames, status bytes; output never enters
// wasm memory), so dlmalloc's size (~7 KB) buys nothing. Single-threaded, like the module.
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without atomics has a single thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

pub use session::{ExecSession, Route};
pub use transfer::{download, to_file, to_tar, upload};

/// The `.d.ts`'s `ExecErrorCode`: the union of the core's error codes, generated from their one
/// table (src/error.rs), so the `.d.ts` names exactly the codes the SDK has.
#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODE: &'static str = crate::error::ErrorCode::TS_TYPE;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A terminal size in character cells; both between 1 and 65535. */
export interface TerminalSize {
  /** Columns. */
  cols: number;
  /** Rows. */
  rows: number;
}

/** Options of {@link exec}. */
export interface ExecOptions {
  /** The API server, e.g. "https://host:6443" or "http://127.0.0.1:8001"; omitted = this page's origin. */
  server?: string;
  /** The pod's namespace. */
  namespace: string;
  /** The pod's name. */
  pod: string;
  /**
   * Needed when the pod has more than one container (else the session fails with code
   * "ContainerRequired", listing them); {@link getPod} gives the one kubectl would pick.
   */
  container?: string;
  /** The argv to run (no shell): one element per argument. */
  command: string[];
  /** Open the process's stdin (default false). */
  stdin?: boolean;
  /** Read stdout (default true). */
  stdout?: boolean;
  /** Read stderr (default: true without `tty`; with `tty` the server merges stderr into stdout). */
  stderr?: boolean;
  /** Allocate a TTY (default false). */
  tty?: boolean;
  /** A bearer token, sent only as the `base64url.bearer.authorization.k8s.io.` subprotocol. */
  token?: string;
  /** Subprotocols to offer, in order; default ["v5.channel.k8s.io", "v4.channel.k8s.io"]. */
  protocols?: string[];
  /** Sent as soon as the socket opens (with `tty`). */
  terminalSize?: TerminalSize;
  /** Aborting it ends the session; `exec()` or `exit` then reject with code "Aborted". */
  signal?: AbortSignal;
  /**
   * Allow sending `token` over plain ws:// to a host other than loopback (default false):
   * anyone on the path can read it. Loopback is decided on the URL as the browser parses it.
   */
  allowInsecureToken?: boolean;
  /**
   * After a failed handshake (the browser reports only close code 1006), GET the pod with the
   * same credentials to tell Unauthorized / Forbidden / NotFound / ConnectFailed apart
   * (default true). It never follows a redirect.
   */
  preflight?: boolean;
  /**
   * Fail with code "Timeout" when nothing arrives within this many ms of the socket opening
   * (default 30000; 0 = wait forever).
   */
  readyTimeout?: number;
  /**
   * Fail with code "Timeout" when the WebSocket handshake has not completed within this many
   * ms (a proxy or firewall that holds it; default 30000; 0 = wait as long as the browser does).
   */
  connectTimeout?: number;
  /**
   * Send a keepalive after this many ms without outgoing data (default 30000; 0 = off), so
   * that load balancers and proxies with idle timeouts keep the connection. The keepalive is
   * an empty WebSocket message, which Kubernetes skips before looking at any channel: it
   * never reaches the process, with or without stdin.
   */
  keepalive?: number;
}

/** Options of {@link openShell}: those of {@link exec} without `command`, plus `shells`. */
export interface ShellOptions extends Omit<ExecOptions, "command" | "stdin" | "tty"> {
  /** The shells to try, in order (default ["bash", "sh"]); each is exec'd as is (argv[0]). */
  shells?: string[];
  /** Open the shell's stdin (default true). */
  stdin?: boolean;
  /** Allocate a TTY (default true). */
  tty?: boolean;
  /**
   * A shell counts as started at its first output (a prompt), or after this many ms without
   * the server reporting that it could not start it (default 2000). A missing shell is
   * recognised from the server's status as soon as it arrives, without this wait.
   */
  startGrace?: number;
}

/** What {@link openShell} resolves with. */
export interface ShellSession {
  /** The session of the shell that started. */
  session: ExecSession;
  /** Which of `shells` it is. */
  shell: string;
}

/** Options of {@link getPod}: where the pod is and the credentials, as for {@link exec}. */
export type PodOptions = Pick<ExecOptions, "server" | "namespace" | "pod" | "token" | "signal" | "allowInsecureToken">;

/** A container of a pod: its spec and its status. */
export interface ContainerInfo {
  /** The container's name. */
  name: string;
  /** The image of its spec. */
  image: string;
  /** From its status; "unknown" while it has none. */
  state: "running" | "waiting" | "terminated" | "unknown";
  /** Why it waits or ended ("CrashLoopBackOff", "Completed", …), when the status says. */
  reason?: string;
  /** Its status says ready. */
  ready: boolean;
  /** Its spec keeps stdin open (attach can write to it). */
  stdin: boolean;
  /** Its spec allocates a TTY (attach must ask for one too). */
  tty: boolean;
}

/** A pod, as {@link getPod} reads it. */
export interface PodInfo {
  /** `metadata.name`. */
  name: string;
  /** `metadata.namespace`. */
  namespace: string;
  /** "Pending", "Running", "Succeeded", "Failed", "Unknown" (or "" if the pod has no status). */
  phase: string;
  /** `spec.containers`, with their status. */
  containers: ContainerInfo[];
  /** `spec.initContainers`, with their status. */
  initContainers: ContainerInfo[];
  /** `spec.ephemeralContainers` (e.g. added by `kubectl debug`), with their status. */
  ephemeralContainers: ContainerInfo[];
  /**
   * The container kubectl picks when none is named: the one the annotation
   * `kubectl.kubernetes.io/default-container` names, if the pod has it, else the first of
   * `containers` (null only for a pod without containers).
   */
  defaultContainer: string | null;
}

/** Options of {@link record}. */
export interface RecordOptions {
  /**
   * Record stdin too, as "i" events (default false). While such a recording runs, every stdin
   * write takes the SDK's general path instead of its one-frame fast path.
   */
  input?: boolean;
  /** The header's `title`. */
  title?: string;
  /** The header's `env`, e.g. `{ SHELL: "/bin/bash", TERM: "xterm-256color" }`. */
  env?: Record<string, string>;
}

/** The first line of an asciicast v2 recording. */
export interface AsciicastHeader {
  /** The format's version. */
  version: 2;
  /** The terminal's columns when the recording started (80 if no size was known). */
  width: number;
  /** Its rows (24 if no size was known). */
  height: number;
  /** Unix time (seconds) of the start. */
  timestamp: number;
  /** {@link RecordOptions.title}. */
  title?: string;
  /** {@link RecordOptions.env}. */
  env?: Record<string, string>;
}

/**
 * A recording of a session in the asciicast v2 format (what asciinema and its player read):
 * the header line, then one JSON array per line, `[seconds, code, data]`, with code "o"
 * (output: stdout and stderr as UTF-8 text), "i" (input, if asked for) or "r" (a resize,
 * "COLSxROWS").
 */
export interface Recording {
  /** The recording's first line. */
  readonly header: AsciicastHeader;
  /** Everything recorded so far, as the text of a `.cast` file. */
  text(): string;
  /** The same as a Blob of type "application/x-asciicast", e.g. for a download link. */
  blob(): Blob;
  /** The lines so far, then each new one as it is recorded; closes when the recording ends. */
  stream(): ReadableStream<string>;
  /** Ends the recording (the session goes on). */
  stop(): void;
  /** Resolves when the recording has ended: the session ended, or `stop()`. */
  readonly done: Promise<void>;
}

/** Options of {@link attach}: those of {@link exec} without `command`. */
export type AttachOptions = Omit<ExecOptions, "command">;

/** How the process ended, as the server reported it. */
export interface ExitStatus {
  /** True for status Success (exit code 0). */
  success: boolean;
  /** The process's exit code (0-255) when the server reported one; null otherwise. */
  exitCode: number | null;
  /** The Status `reason`, e.g. "NonZeroExitCode" or "InternalError". */
  reason?: string;
  /** The Status `message`. */
  message?: string;
}

/**
 * Where {@link upload} and {@link download} run: the options of {@link exec} that say how to
 * connect (server, namespace, pod, container, token, protocols, timeouts …); the transfer
 * chooses the command and the streams.
 */
export type TransferTarget = Omit<ExecOptions, "command" | "stdin" | "stdout" | "stderr" | "tty" | "terminalSize" | "signal">;

/**
 * One thing to upload: a `File` (its `webkitRelativePath`, else its name, is the path), a
 * `Blob` with a `name`, bytes or text with a path, or a directory.
 */
export type UploadFile =
  | File
  | (Blob & { readonly name: string })
  | { path: string; data: Blob | ArrayBuffer | ArrayBufferView | string; mode?: number }
  | { path: string; type: "directory"; mode?: number };

/** Progress of a transfer: file bytes so far, of `total` (uploads), in the file at `path`. */
export interface TransferProgress {
  bytes: number;
  total?: number;
  path: string;
}

/** Options of {@link upload}. */
export interface UploadOptions {
  /** The directory in the container to extract into; default: the container's working directory. */
  destDir?: string;
  /** Aborting it ends the upload and the remote tar; the promise rejects with "Aborted". */
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

/** What {@link upload} resolves with: the number of files and their bytes. */
export interface UploadResult {
  files: number;
  bytes: number;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** Aborting it ends the download and the remote tar; the stream errors with "Aborted". */
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

/** One entry of a download; read (or cancel) its body before the next entry's. */
export interface DownloadEntry {
  /** Normalised, relative, `/`-separated; never absolute, never with `..`. */
  path: string;
  type: "file" | "directory" | "symlink" | "link";
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** Body length in bytes (0 for all but files). */
  size: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  /** Links: the target (symlinks relative to their directory, inside the tree; hard links a path in the tree). */
  linkTarget?: string;
  /** The file's bytes, as views of the received frames; empty for other types. */
  body: ReadableStream<Uint8Array>;
}

/** The errors of this package: real `Error`s with a typed `code`. */
export interface ExecError extends Error {
  /** Always "ExecError". */
  readonly name: "ExecError";
  /** What went wrong, as a stable name. */
  readonly code: ExecErrorCode;
  /** What an operator can check (RBAC, proxies, certificates, the container's state). */
  readonly hint: string;
  /** The Status the server sent, where there was one. */
  readonly status?: ExitStatus;
  /** The HTTP status of the handshake or of the preflight, where known. */
  readonly httpStatus?: number;
  /** "ContainerRequired", and "NotFound" for a container the pod lacks: the pod's containers. */
  readonly containers?: string[];
  /** "NoShell": the shells tried, in order. */
  readonly tried?: string[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The option bag of `exec()`, typed by the custom section above.
    #[wasm_bindgen(typescript_type = "ExecOptions")]
    pub type ExecOptions;

    /// The option bag of `attach()`.
    #[wasm_bindgen(typescript_type = "AttachOptions")]
    pub type AttachOptions;

    /// The option bag of `openShell()`.
    #[wasm_bindgen(typescript_type = "ShellOptions")]
    pub type ShellOptions;

    /// The option bag of `getPod()`.
    #[wasm_bindgen(typescript_type = "PodOptions")]
    pub type PodOptions;

    /// The option bag of `record()`.
    #[wasm_bindgen(typescript_type = "RecordOptions")]
    pub type RecordOptions;
}

/// Runs `command` in a container (`kubectl exec`). Resolves once the WebSocket is open, with
/// the session's streams; rejects with an {@link ExecError} if it cannot be opened.
#[wasm_bindgen]
pub async fn exec(options: ExecOptions) -> Result<ExecSession, JsValue> {
    session::open(crate::request::Kind::Exec, options.into()).await
}

/// Attaches to a container's main process (`kubectl attach`). Resolves once the WebSocket is
/// open; rejects with an {@link ExecError} if it cannot be opened.
#[wasm_bindgen]
pub async fn attach(options: AttachOptions) -> Result<ExecSession, JsValue> {
    session::open(crate::request::Kind::Attach, options.into()).await
}

/// Opens an interactive shell: tries each of `shells` in order (default bash, then sh), each
/// with stdin and a TTY unless told otherwise, and resolves with the first that starts and
/// its name. A shell the container lacks is recognised from the server's status as soon as it
/// arrives. Rejects with an {@link ExecError}: code "NoShell" (its `tried` lists the shells)
/// when the container has none of them, or any error {@link exec} rejects with.
#[wasm_bindgen(js_name = openShell, unchecked_return_type = "ShellSession")]
pub async fn open_shell(options: ShellOptions) -> Result<JsValue, JsValue> {
    shell::open_shell(options.into()).await
}

/// Reads a pod (a `GET` with the same server, token and checks as {@link exec}): its phase,
/// its containers, init containers and ephemeral containers with their state, and the
/// default container by kubectl's rules. Rejects with an {@link ExecError}: "Unauthorized",
/// "Forbidden", "NotFound", "ConnectFailed" (no answer: network, CORS, certificate),
/// "ProtocolError" (not a Pod), "Aborted", "InvalidOptions".
#[wasm_bindgen(js_name = getPod, unchecked_return_type = "PodInfo")]
pub async fn get_pod(options: PodOptions) -> Result<JsValue, JsValue> {
    pod::get_pod(options.into()).await
}

/// Records a session as asciicast v2 from now on, without disturbing its consumer: every
/// output chunk the session receives, whether or not anyone reads it, its resizes, and with
/// `input: true` what is written to stdin. The recording ends with the session, or at
/// `stop()`. A session that has already ended gives an empty recording (the header only).
#[wasm_bindgen(unchecked_return_type = "Recording")]
pub fn record(
    session: &ExecSession,
    #[wasm_bindgen(unchecked_param_type = "RecordOptions")] options: Option<RecordOptions>,
) -> JsValue {
    session.record(&options.map_or(JsValue::UNDEFINED, JsValue::from))
}
