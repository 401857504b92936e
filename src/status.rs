//! How a session ended, as the server reported it on the error channel (3): plain data.
//! Reading it from the channel's bytes is [`crate::error::metav1`]'s job.

/// How a session ended, as the server reported it on the error channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The process exited with code 0 (or, for attach, the session ended cleanly).
    Success,
    /// The process exited with a non-zero code (`reason: NonZeroExitCode`).
    NonZeroExit {
        /// The exit code, from the cause whose `reason` is `ExitCode`.
        code: u8,
        /// The server's message (`command terminated with non-zero exit code: ...`).
        message: String,
    },
    /// Any other failure (executable not found, container gone, v1 text errors...).
    Failure {
        /// The `Status.reason` (e.g. `InternalError`); empty when the server gave none
        /// (always for the v1 text status).
        reason: String,
        /// The server's message.
        message: String,
        /// The `Status.code` (an HTTP status, e.g. 500), if given.
        code: Option<u16>,
    },
}

impl ExitStatus {
    /// The process succeeded.
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Success)
    }

    /// The exit code: 0 on success, the code of a non-zero exit, `None` for other failures.
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            ExitStatus::Success => Some(0),
            ExitStatus::NonZeroExit { code, .. } => Some(*code),
            ExitStatus::Failure { .. } => None,
        }
    }

    /// The failure's reason (`"NonZeroExitCode"`, `"InternalError"`...); `None` on success
    /// and when the server gave none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ExitStatus::Success => None,
            ExitStatus::NonZeroExit { .. } => Some("NonZeroExitCode"),
            ExitStatus::Failure { reason, .. } => (!reason.is_empty()).then_some(reason.as_str()),
        }
    }

    /// The server's message; `None` on success or when empty.
    pub fn message(&self) -> Option<&str> {
        match self {
            ExitStatus::Success => None,
            ExitStatus::NonZeroExit { message, .. } | ExitStatus::Failure { message, .. } => {
                (!message.is_empty()).then_some(message.as_str())
            }
        }
    }

    /// The `Status.code` of a failure, if the server gave one.
    pub fn http_code(&self) -> Option<u16> {
        match self {
            ExitStatus::Failure { code, .. } => *code,
            _ => None,
        }
    }

    /// The process could not start because its executable does not exist: a failure without
    /// an exit code whose message is the container runtime's start error. The texts are the
    /// OCI runtimes' (runc: `exec: "bash": executable file not found in $PATH`, or
    /// `stat /bin/bash: no such file or directory` for a path; crun: ``executable file `bash`
    /// not found in $PATH``), which containerd and CRI-O pass on inside the kubelet's
    /// `InternalError` (v4, v5) or as the plain-text status (v1).
    pub fn executable_not_found(&self) -> bool {
        let ExitStatus::Failure { message, .. } = self else {
            return false;
        };
        [
            "executable file not found",
            "not found in $PATH",
            "no such file or directory",
        ]
        .iter()
        .any(|needle| message.contains(needle))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    pub(crate) fn nonzero(code: u8, message: &str) -> ExitStatus {
        ExitStatus::NonZeroExit {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn failure(reason: &str, message: &str, code: Option<u16>) -> ExitStatus {
        ExitStatus::Failure {
            reason: reason.into(),
            message: message.into(),
            code,
        }
    }

    #[test]
    fn accessors() {
        assert!(ExitStatus::Success.success());
        assert_eq!(ExitStatus::Success.exit_code(), Some(0));
        assert_eq!(ExitStatus::Success.reason(), None);
        let n = nonzero(42, "m");
        assert!(!n.success());
        assert_eq!(n.exit_code(), Some(42));
        assert_eq!(n.reason(), Some("NonZeroExitCode"));
        assert_eq!(n.message(), Some("m"));
        let f = failure("InternalError", "x", Some(500));
        assert_eq!(f.http_code(), Some(500));
        assert_eq!(f.exit_code(), None);
    }

    #[test]
    fn executable_not_found_from_the_runtimes_texts() {
        let not_found = [
            // containerd + runc, v4 (the devserver sends the same text)
            r#"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "0f": OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown"#,
            // the same through the v5 translator: wrapped once more
            r#"Internal error occurred: Internal error occurred: error executing command in container: exec: "bash": executable file not found in $PATH: unknown"#,
            // a path that does not exist
            r#"Internal error occurred: error executing command in container: OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/bash": stat /bin/bash: no such file or directory: unknown"#,
            // CRI-O + crun
            "Internal error occurred: error executing command in container: command error: crun: executable file `bash` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found",
        ];
        for message in not_found {
            assert!(
                failure("InternalError", message, Some(500)).executable_not_found(),
                "{message}"
            );
            // v1: the same text, no reason
            assert!(
                failure("", message, None).executable_not_found(),
                "{message}"
            );
        }
        for other in [
            failure("InternalError", "Internal error occurred: unable to upgrade connection: container not found (\"main\")", Some(500)),
            failure("InternalError", r#"exec: "bash": permission denied"#, Some(500)),
            // A shell that started and could not find a command exits 127: that is the
            // shell's business, not a missing shell.
            nonzero(127, "command terminated with non-zero exit code: bash: nosuch: command not found"),
            ExitStatus::Success,
        ] {
            assert!(!other.executable_not_found(), "{other:?}");
        }
    }
}
