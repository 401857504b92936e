//! File transfer over exec (`kubectl cp`, done safely): the commands that run in the
//! container, and what a failed one means. The archive itself is [`crate::archive`].
//!
//! - Upload runs `tar -xmf - -C DIR`. On v5 the SDK ends stdin with the CLOSE signal. Older
//!   protocols cannot half-close stdin, so there the SDK runs
//!   `sh -c 'head -c N | tar -xmf - -C "$1"' sh DIR` with the archive's exact length `N`:
//!   `head` ends tar's input after the last byte, and no stdin EOF is needed.
//! - Download runs `tar cf - -C PARENT -- NAME`, so the entries start with `NAME/`.

use crate::error::{Error, ErrorCode};
use crate::status::ExitStatus;

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

fn check_arg(what: &str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(invalid(format!("`{what}` must not contain a NUL byte")));
    }
    Ok(())
}

/// The upload command: extract stdin into `dest_dir` (`""`: the container's working
/// directory). With `exact_len` (protocols without half-close), only that many bytes of
/// stdin are read, through `head -c`.
pub fn upload_command(dest_dir: &str, exact_len: Option<u64>) -> Result<Vec<String>, Error> {
    check_arg("destDir", dest_dir)?;
    let dir = if dest_dir.is_empty() { "." } else { dest_dir };
    let argv: Vec<&str> = match exact_len {
        None => vec!["tar", "-xmf", "-", "-C", dir],
        Some(_) => vec!["sh", "-c", "", "sh", dir],
    };
    let mut argv: Vec<String> = argv.into_iter().map(String::from).collect();
    if let Some(n) = exact_len {
        // DIR goes as "$1", never into the script text.
        argv[2] = format!("head -c {n} | tar -xmf - -C \"$1\"");
    }
    Ok(argv)
}

/// The download command for `path` (a file or a directory, relative to the container's
/// working directory or absolute): `tar cf - -C PARENT -- NAME`.
pub fn download_command(path: &str) -> Result<Vec<String>, Error> {
    check_arg("path", path)?;
    if path.is_empty() {
        return Err(invalid("`path` must not be empty".into()));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(["tar", "cf", "-", "-C", "/", "--", "."]
            .map(String::from)
            .to_vec());
    }
    let (dir, name) = match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    };
    // `.` and `..` name the directory itself: archive its contents.
    let (dir, name) = match name {
        "." | ".." => (trimmed, "."),
        _ => (dir, name),
    };
    Ok(["tar", "cf", "-", "-C", dir, "--", name]
        .into_iter()
        .map(String::from)
        .collect())
}

/// Keeps the end of a long stderr (tar prints its reason last).
fn tail(text: &str, max: usize) -> &str {
    let text = text.trim();
    if text.len() <= max {
        return text;
    }
    let mut at = text.len() - max;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    &text[at..]
}

/// What a transfer whose command ended with `status` (not a success) means, given what it
/// wrote on stderr: `NoTar` when tar (or `sh`/`head`) cannot be run in the container,
/// otherwise `TarFailed` with tar's own message.
pub fn classify_failure(status: &ExitStatus, stderr: &str) -> Error {
    let message = status.message().unwrap_or_default();
    let not_found = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("executable file not found")
            || s.contains("no such file or directory") && s.contains("exec")
    };
    let shell_not_found = stderr.contains(": not found") || stderr.contains("command not found");
    let no_tar = (status.exit_code().is_none() && not_found(message))
        || (matches!(status.exit_code(), Some(127) | None) && shell_not_found);
    if no_tar {
        let what = if message.is_empty() {
            stderr.trim()
        } else {
            message
        };
        return Error::new(
            ErrorCode::NoTar,
            format!("the container cannot run tar: {}", tail(what, 512)),
        )
        .with_status(status.clone());
    }
    let said = tail(stderr, 2048);
    let text = match (status.exit_code(), said.is_empty()) {
        (Some(code), false) => format!("tar exited with code {code}: {said}"),
        (Some(code), true) => format!("tar exited with code {code}"),
        (None, false) => format!("tar failed: {said}"),
        (None, true) => format!("tar failed: {message}"),
    };
    Error::new(ErrorCode::TarFailed, text).with_status(status.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn upload_commands() {
        assert_eq!(
            upload_command("/tmp/x y", None).unwrap(),
            ["tar", "-xmf", "-", "-C", "/tmp/x y"]
        );
        assert_eq!(
            upload_command("", Some(3072)).unwrap(),
            ["sh", "-c", "head -c 3072 | tar -xmf - -C \"$1\"", "sh", "."]
        );
        assert_eq!(
            upload_command("a\0b", None).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
    }

    macro_rules! download_cases {
        ($($name:ident: $path:expr => $dir:expr, $base:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(
                    download_command($path).unwrap(),
                    ["tar", "cf", "-", "-C", $dir, "--", $base]
                );
            }
        )*};
    }

    download_cases! {
        download_relative_file: "notes.txt" => ".", "notes.txt";
        download_absolute_dir: "/var/log/" => "/var", "log";
        download_top_level: "/etc" => "/", "etc";
        download_root: "/" => "/", ".";
        download_dot: "." => ".", ".";
        download_parent: "a/.." => "a/..", ".";
        download_dash_name: "-rf" => ".", "-rf";
    }

    #[test]
    fn download_needs_a_path() {
        assert_eq!(
            download_command("").unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
    }

    fn failure(message: &str) -> ExitStatus {
        ExitStatus::Failure {
            reason: "InternalError".into(),
            message: message.into(),
            code: Some(500),
        }
    }

    #[test]
    fn no_tar_on_the_v5_path() {
        let s = failure("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"ab\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"tar\": executable file not found in $PATH: unknown");
        let e = classify_failure(&s, "");
        assert_eq!(e.code(), ErrorCode::NoTar);
        assert!(e.message().contains("\"tar\": executable file not found"));
        assert!(e.hint().contains("ephemeral debug container"));
    }

    #[test]
    fn no_tar_through_sh() {
        let s = ExitStatus::NonZeroExit {
            code: 127,
            message: "command terminated with non-zero exit code: exit code 127".into(),
        };
        let e = classify_failure(&s, "sh: 1: tar: not found\n");
        assert_eq!(e.code(), ErrorCode::NoTar);
        assert_eq!(e.message(), "the container cannot run tar: command terminated with non-zero exit code: exit code 127");
    }

    #[test]
    fn tar_message_for_a_missing_directory() {
        let s = ExitStatus::NonZeroExit {
            code: 2,
            message: "command terminated with non-zero exit code: exit code 2".into(),
        };
        let e = classify_failure(
            &s,
            "tar: /nope: Cannot open: No such file or directory\ntar: Error is not recoverable: exiting now\n",
        );
        assert_eq!(e.code(), ErrorCode::TarFailed);
        assert_eq!(
            e.message(),
            "tar exited with code 2: tar: /nope: Cannot open: No such file or directory\ntar: Error is not recoverable: exiting now"
        );
        assert_eq!(e.status(), Some(&s));
    }

    #[test]
    fn long_stderr_keeps_its_end() {
        let s = ExitStatus::NonZeroExit {
            code: 2,
            message: String::new(),
        };
        let long = format!("{}é{}", "x".repeat(3000), "the reason");
        let e = classify_failure(&s, &long);
        assert!(e.message().ends_with("the reason"));
        assert!(e.message().len() < 2100);
    }
}
