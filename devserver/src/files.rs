//! Static files for `--www DIR`, same origin as the API: `index.html` for directories, proper
//! content types (`.wasm` as `application/wasm`), nothing outside DIR.

use crate::reply::{json, response, Body};
use crate::status;
use bytes::Bytes;
use hyper::{Response, StatusCode};
use std::path::{Component, Path, PathBuf};

pub fn content_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" | "mts" => "text/plain; charset=utf-8",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Maps a URL path to a file under `root`, or `None` for anything that could leave it.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = String::from_utf8(percent_decode(url_path)?).ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let mut rel = PathBuf::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return None,
            s => rel.push(s),
        }
    }
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut path = root.join(rel);
    if path.is_dir() {
        path.push("index.html");
    }
    // Symlinks may not lead out of the root either.
    let real = path.canonicalize().ok()?;
    let real_root = root.canonicalize().ok()?;
    real.starts_with(&real_root).then_some(real)
}

pub async fn serve(root: &Path, url_path: &str, head: bool) -> Response<Body> {
    let Some(path) = resolve(root, url_path) else {
        return json(StatusCode::NOT_FOUND, status::no_such_path());
    };
    match tokio::fs::read(&path).await {
        Ok(data) => {
            let mut r = response(
                StatusCode::OK,
                content_type(&path),
                if head {
                    Bytes::new()
                } else {
                    Bytes::from(data)
                },
            );
            r.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-cache"),
            );
            r
        }
        Err(_) => json(StatusCode::NOT_FOUND, status::no_such_path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        let root = std::env::temp_dir().join(format!("kew-files-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("index.html"), "i").unwrap();
        std::fs::write(root.join("sub/a.wasm"), "w").unwrap();
        assert!(resolve(&root, "/").unwrap().ends_with("index.html"));
        assert!(resolve(&root, "/sub/a.wasm").is_some());
        assert!(resolve(&root, "/sub/%61.wasm").is_some());
        assert!(resolve(&root, "/../etc/passwd").is_none());
        assert!(resolve(&root, "/sub/%2e%2e/%2e%2e/etc/passwd").is_none());
        assert!(resolve(&root, "/..%5c..%5cetc").is_none());
        assert!(resolve(&root, "/nope").is_none());
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
