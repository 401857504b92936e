//! File transfer in the browser: `upload()`, `download()` and the collectors, exported beside
//! `exec`. The byte moving is in `transfer.js` (file bodies go from `Blob.stream()` to the
//! socket, and from received frames to the consumer, as views: never through wasm memory);
//! what it asks of Rust goes through one [`Transfer`] object per call: sessions, the commands,
//! the archive plan and headers, the push parser (headers only), and typed errors.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::errors::error_to_js;
use crate::archive::{Builder, Parser, Spec, SpecKind, Want};
use crate::error::{Error, ErrorCode};
use crate::request::Kind;
use crate::status::ExitStatus;
use crate::transfer;

#[wasm_bindgen(module = "/src/web/transfer.js")]
extern "C" {
    #[wasm_bindgen(js_name = upload)]
    fn js_upload(t: Transfer, target: &JsValue, files: &JsValue, options: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = download)]
    fn js_download(t: Transfer, target: &JsValue, path: &JsValue, options: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = toFile)]
    fn js_to_file(t: Transfer, entries: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = toTar)]
    fn js_to_tar(t: Transfer, entries: &JsValue) -> Promise;
}

/// What `transfer.js` asks of Rust during one upload, download or collection. Not part of
/// the typed API.
#[wasm_bindgen(skip_typescript)]
#[derive(Default)]
pub struct Transfer {
    builder: Option<Builder>,
    parser: Parser,
}

fn js(e: Error) -> JsValue {
    error_to_js(&e)
}

#[wasm_bindgen]
impl Transfer {
    /// `exec()` with a complete option bag.
    pub fn exec(&self, bag: JsValue) -> Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            super::session::open(Kind::Exec, bag)
                .await
                .map(JsValue::from)
        })
    }

    /// An `ExecError` of this code (an `ErrorCode` name) and message.
    pub fn error(&self, code: &str, message: &str) -> JsValue {
        let code = ErrorCode::from_name(code).unwrap_or(ErrorCode::InvalidOptions);
        js(Error::new(code, message))
    }

    /// `tar -xmf - -C DIR`, or with `exact_len` the `head -c N` form.
    #[wasm_bindgen(js_name = uploadCommand)]
    pub fn upload_command(&self, dest_dir: &str, exact_len: Option<f64>) -> Result<Array, JsValue> {
        let argv = transfer::upload_command(dest_dir, exact_len.map(|n| n as u64)).map_err(js)?;
        Ok(argv.iter().map(|s| JsValue::from_str(s)).collect())
    }

    /// `tar cf - -C PARENT -- NAME`.
    #[wasm_bindgen(js_name = downloadCommand)]
    pub fn download_command(&self, path: &str) -> Result<Array, JsValue> {
        let argv = transfer::download_command(path).map_err(js)?;
        Ok(argv.iter().map(|s| JsValue::from_str(s)).collect())
    }

    /// The error for a transfer whose command ended with `status` (`{ success, exitCode,
    /// reason, message }`), given its stderr: `NoTar` or `TarFailed`.
    pub fn classify(&self, status: &JsValue, stderr: &str) -> JsValue {
        let get = |k: &str| Reflect::get(status, &JsValue::from_str(k)).unwrap_or_default();
        let message = get("message").as_string().unwrap_or_default();
        let reason = get("reason").as_string().unwrap_or_default();
        let status = match get("exitCode").as_f64() {
            Some(code) if reason == "NonZeroExitCode" => ExitStatus::NonZeroExit {
                code: code as u8,
                message,
            },
            _ => ExitStatus::Failure {
                reason,
                message,
                code: None,
            },
        };
        js(transfer::classify_failure(&status, stderr))
    }

    /// Plans an upload archive. Per entry: path, kind (0 file, 1 directory, 2 symlink,
    /// 3 hard link), body size, mode, mtime (s), link target. Returns the exact length.
    pub fn plan(
        &mut self,
        paths: Vec<String>,
        kinds: Vec<u8>,
        sizes: Vec<f64>,
        modes: Vec<u32>,
        mtimes: Vec<f64>,
        targets: Vec<String>,
    ) -> Result<f64, JsValue> {
        let specs = paths
            .into_iter()
            .enumerate()
            .map(|(i, path)| {
                let target = targets.get(i).cloned().unwrap_or_default();
                let kind = match kinds.get(i) {
                    Some(1) => SpecKind::Directory,
                    Some(2) => SpecKind::Symlink { target },
                    Some(3) => SpecKind::HardLink { target },
                    _ => SpecKind::File {
                        size: sizes.get(i).copied().unwrap_or(0.0) as u64,
                    },
                };
                Spec {
                    path,
                    kind,
                    mode: modes.get(i).copied().unwrap_or(0o644),
                    mtime: mtimes.get(i).copied().unwrap_or(0.0).max(0.0) as u64,
                }
            })
            .collect();
        let builder = Builder::new(specs).map_err(js)?;
        let len = builder.len() as f64;
        self.builder = Some(builder);
        Ok(len)
    }

    /// What goes before entry `i`'s body (padding, header blocks).
    pub fn head(&self, i: usize) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(b) = &self.builder {
            b.head(i, &mut out);
        }
        out
    }

    /// What follows the last body (padding, end-of-archive marker).
    pub fn tail(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(b) = &self.builder {
            b.tail(&mut out);
        }
        out
    }

    /// The parser's want: `> 0` body bytes of the last entry, `< 0` bytes to skip, `0`
    /// metadata (see `need`). Throws the parser's error.
    pub fn want(&self) -> Result<f64, JsValue> {
        Ok(match self.parser.want().map_err(js)? {
            Want::Body(n) => n as f64,
            Want::Skip(n) => -(n as f64),
            Want::Meta(_) | Want::Done => 0.0,
        })
    }

    /// Metadata bytes the parser wants; 0 after the end marker (drop the rest).
    pub fn need(&self) -> usize {
        match self.parser.want() {
            Ok(Want::Meta(n)) => n,
            _ => 0,
        }
    }

    /// Feeds metadata bytes (at most `need()`); returns how many were taken.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<usize, JsValue> {
        self.parser.feed(bytes).map_err(js)
    }

    /// `n` body or skip bytes were passed on or dropped.
    pub fn advance(&mut self, n: f64) -> Result<(), JsValue> {
        self.parser.advance(n as u64).map_err(js)
    }

    /// The next entry as `{ path, type, mode, size, mtime, linkTarget? }`, or `undefined`.
    #[wasm_bindgen(js_name = nextEntry)]
    pub fn next_entry(&mut self) -> JsValue {
        let Some(e) = self.parser.poll_entry() else {
            return JsValue::UNDEFINED;
        };
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        set("path", e.path.into());
        set("type", e.kind.as_str().into());
        set("mode", e.mode.into());
        set("size", (e.size as f64).into());
        set("mtime", (e.mtime as f64).into());
        if let Some(t) = e.link_target {
            set("linkTarget", t.into());
        }
        o.into()
    }

    /// The archive ended: throws `BadArchive` if it was cut short.
    pub fn finish(&mut self) -> Result<(), JsValue> {
        self.parser.finish().map_err(js)
    }
}

/// Uploads files into a container (`tar -xmf - -C destDir`, run in the container): resolves
/// with `{ files, bytes }` once the remote tar exited 0; rejects with an {@link ExecError}
/// (`NoTar`, `TarFailed` with tar's message, `Aborted`, `InvalidOptions`, or a connection
/// error). On protocols before v5, which cannot end stdin, it runs
/// `sh -c 'head -c N | tar -xmf - -C "$1"' sh DIR` with the archive's exact length.
#[wasm_bindgen(unchecked_return_type = "Promise<UploadResult>")]
pub fn upload(
    target: TransferTarget,
    #[wasm_bindgen(unchecked_param_type = "UploadFile[]")] files: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "UploadOptions")] options: Option<Object>,
) -> Promise {
    super::bindings::install_panic_hook();
    js_upload(
        Transfer::default(),
        &target,
        &files,
        &options.map_or(JsValue::UNDEFINED, JsValue::from),
    )
}

/// Downloads a file or a directory from a container (`tar cf -`, run in the container):
/// resolves once the session is open with a stream of entries, each with its body as a
/// stream of views. Unsafe entries (absolute paths, `..`, links out of the tree, devices)
/// error the stream with `UnsafeEntry`, and nothing of them is yielded.
#[wasm_bindgen(unchecked_return_type = "Promise<ReadableStream<DownloadEntry>>")]
pub fn download(
    target: TransferTarget,
    path: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "DownloadOptions")] options: Option<Object>,
) -> Promise {
    super::bindings::install_panic_hook();
    js_download(
        Transfer::default(),
        &target,
        &JsValue::from_str(path),
        &options.map_or(JsValue::UNDEFINED, JsValue::from),
    )
}

/// Collects a download of a single file into a `File` (named after it, with its mtime);
/// rejects with `InvalidOptions` when the download holds anything else.
#[wasm_bindgen(js_name = toFile, unchecked_return_type = "Promise<File>")]
pub fn to_file(
    #[wasm_bindgen(unchecked_param_type = "ReadableStream<DownloadEntry>")] entries: JsValue,
) -> Promise {
    js_to_file(Transfer::default(), &entries)
}

/// Collects a whole download into a `.tar` `Blob` (GNU format, rebuilt from the checked
/// entries).
#[wasm_bindgen(js_name = toTar, unchecked_return_type = "Promise<Blob>")]
pub fn to_tar(
    #[wasm_bindgen(unchecked_param_type = "ReadableStream<DownloadEntry>")] entries: JsValue,
) -> Promise {
    js_to_tar(Transfer::default(), &entries)
}

#[wasm_bindgen]
extern "C" {
    /// The `target` of `upload()` / `download()`.
    #[wasm_bindgen(typescript_type = "TransferTarget")]
    pub type TransferTarget;
}
