//! The browser SDK: `exec()` and `attach()` for JavaScript, over the sans-IO core.
//!
//! Compiled only for `wasm32`. The glue moves messages between the browser's `WebSocket` and
//! [`crate::session::Session`]: for each message, glue.js passes its kind, first byte and
//! length to the core's `route` (one call into wasm, numbers only) and, for stdout and stderr,
//! hands the JS stream a view of the received `ArrayBuffer` — payloads never enter wasm memory.
//! Only what the core must read (the status, frames on other channels) is copied in. Rust owns
//! the socket, the session state, the timers and every closure.

mod bindings;
mod errors;
mod options;
mod preflight;
mod session;
mod transfer;

use wasm_bindgen::prelude::*;

// A small allocator: the glue allocates little (stdin frames, status bytes; output never enters
// wasm memory), so dlmalloc's size (~7 KB) buys nothing. Single-threaded, like the module.
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without atomics has a single thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

pub use session::ExecSession;
pub use transfer::{download, to_file, to_tar, upload};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A terminal size in character cells; both between 1 and 65535. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** Options of {@link exec}. */
export interface ExecOptions {
  /** The API server, e.g. "https://host:6443" or "http://127.0.0.1:8001"; omitted = this page's origin. */
  server?: string;
  namespace: string;
  pod: string;
  /** Needed when the pod has more than one container. */
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
   * Send an empty stdin frame after this many ms without outgoing data, for load balancers
   * with short idle timeouts (default: off).
   */
  keepalive?: number;
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

/** The `code` of every error this package throws or rejects with. */
export type ExecErrorCode =
  | "InvalidOptions"
  | "ConnectFailed"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "ProtocolNotSupported"
  | "ProtocolError"
  | "ConnectionLost"
  | "Aborted"
  | "HalfCloseUnsupported"
  | "NotOpen"
  | "BufferFull"
  | "Timeout"
  /** File transfer: the container has no `tar` (distroless?); see the hint. */
  | "NoTar"
  /** File transfer: the remote tar failed; the message is what it printed. */
  | "TarFailed"
  /** File transfer: the archive held an entry outside the tree; the message names it. */
  | "UnsafeEntry"
  /** File transfer: the container's tar sent bytes that are not a tar archive. */
  | "BadArchive"
  /** A bug in this package: it panicked (see the console); every session ended. */
  | "Internal";

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
  readonly name: "ExecError";
  readonly code: ExecErrorCode;
  /** What an operator can check (RBAC, proxies, certificates, the container's state). */
  readonly hint: string;
  /** The Status the server sent, where there was one. */
  readonly status?: ExitStatus;
  /** The HTTP status of the handshake or of the preflight, where known. */
  readonly httpStatus?: number;
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
}

/// Runs `command` in a container (`kubectl exec`). Resolves once the WebSocket is open, with
/// the session's streams; rejects with an {@link ExecError} if it cannot be opened.
#[wasm_bindgen(unchecked_return_type = "Promise<ExecSession>")]
pub fn exec(options: ExecOptions) -> js_sys::Promise {
    session::open(crate::request::Kind::Exec, options.into())
}

/// Attaches to a container's main process (`kubectl attach`). Resolves once the WebSocket is
/// open; rejects with an {@link ExecError} if it cannot be opened.
#[wasm_bindgen(unchecked_return_type = "Promise<ExecSession>")]
pub fn attach(options: AttachOptions) -> js_sys::Promise {
    session::open(crate::request::Kind::Attach, options.into())
}
