//! `openShell()`: the shell search every console writes by hand (`bash || sh`), done once.
//!
//! Each shell of `shells` (default bash, then sh) is exec'd in turn; once its socket is open,
//! the search waits to learn whether the process started ([`Attempt::started`]): at its first
//! output, or after `startGrace` ms without news, or when the server's status says the
//! executable does not exist ([`ExitStatus::executable_not_found`], at once: no timeout is
//! waited for), in which case the next shell is tried. None found: `NoShell`, listing them.
//!
//! [`Attempt::started`]: super::session::Attempt::started
//! [`ExitStatus::executable_not_found`]: crate::status::ExitStatus::executable_not_found

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::errors::error_to_js;
use super::options::{Bag, Options};
use super::session::{self, Probe};
use crate::error::{Error, ErrorCode};
use crate::request::Kind;

/// How long a shell that prints nothing is given before it counts as started (ms).
const DEFAULT_START_GRACE_MS: f64 = 2000.0;

/// `openShell(options)`: resolves with `{ session, shell }`, or rejects with an `ExecError`
/// (`NoShell` when none of the shells exists).
pub async fn open_shell(bag: JsValue) -> Result<JsValue, JsValue> {
    super::bindings::install_panic_hook();
    let js = |e: Error| error_to_js(&e);
    let shells = Options::read(&bag, Bag::Shell).map_err(js)?.command;
    // The shells tried and what the server said of each.
    let mut tried = Vec::new();
    for shell in shells {
        // Read again for each shell (the options hold the signal, which is not `Clone`d).
        let mut options = Options::read(&bag, Bag::Shell).map_err(js)?;
        options.command = vec![shell.clone()];
        let grace_ms = options.start_grace_ms.unwrap_or(DEFAULT_START_GRACE_MS);
        let mut attempt = session::connect(Kind::Exec, options, true).map_err(js)?;
        attempt.wait_open().await?;
        match attempt.started(grace_ms).await {
            Probe::Started => {
                let result = Object::new();
                let session = JsValue::from(attempt.session());
                let _ = Reflect::set(&result, &"session".into(), &session);
                let _ = Reflect::set(&result, &"shell".into(), &JsValue::from_str(&shell));
                return Ok(result.into());
            }
            Probe::NotFound(message) => tried.push((shell, message)),
            Probe::Failed(error) => return Err(error),
        }
    }
    Err(js(no_shell(&tried)))
}

/// `NoShell`, naming each shell tried and what the server said about it.
fn no_shell(tried: &[(String, String)]) -> Error {
    let mut message = String::from("no shell in the container: tried");
    let mut names = Vec::new();
    for (i, (shell, said)) in tried.iter().enumerate() {
        message.push_str(if i == 0 { " " } else { ", " });
        message.push_str(shell);
        message.push_str(" (");
        message.push_str(said);
        message.push(')');
        names.push(shell.clone());
    }
    Error::new(ErrorCode::NoShell, message).with_names(names)
}
