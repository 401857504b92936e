//! `openShell()`: the shell search every console writes by hand (`bash || sh`), done once.
//!
//! Each shell of `shells` (default bash, then sh) is exec'd in turn as a session whose promise
//! settles only once it is known whether the process started ([`Opened::Shell`]): at its first
//! output, or after `startGrace` ms without news, or when the server's status says the
//! executable does not exist ([`ExitStatus::executable_not_found`], at once: no timeout is
//! waited for), in which case the next shell is tried. None found: `NoShell`, listing them.
//!
//! [`ExitStatus::executable_not_found`]: crate::status::ExitStatus::executable_not_found

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsValue;

use super::errors::error_to_js;
use super::options::{Bag, Options};
use super::session::{self, Opened, Started};
use crate::error::{Error, ErrorCode};
use crate::request::Kind;

/// How long a shell that prints nothing is given before it counts as started (ms).
const DEFAULT_START_GRACE_MS: f64 = 2000.0;

/// The search under way.
struct Search {
    /// The option bag, read again for each shell.
    bag: JsValue,
    /// The shells still to try, last = next.
    shells: Vec<String>,
    /// The shells tried and why each failed.
    tried: Vec<(String, String)>,
    resolve: Function,
    reject: Function,
}

type Shared = Rc<RefCell<Search>>;

/// `openShell(options)`: resolves with `{ session, shell }`, or rejects with an `ExecError`
/// (`NoShell` when none of the shells exists).
pub fn open_shell(bag: JsValue) -> Promise {
    super::bindings::install_panic_hook();
    let mut shells = match Options::read(&bag, Bag::Shell) {
        Ok(o) => o.command,
        Err(e) => return Promise::reject(&error_to_js(&e)),
    };
    shells.reverse(); // popped from the end: first shell first
    let d = super::bindings::deferred();
    let search = Rc::new(RefCell::new(Search {
        bag,
        shells,
        tried: Vec::new(),
        resolve: d.get(1).into(),
        reject: d.get(2).into(),
    }));
    try_next(&search);
    Promise::from(d.get(0))
}

/// Starts the next shell, or ends the search with `NoShell`.
fn try_next(search: &Shared) {
    let (bag, shell, reject) = {
        let mut s = search.borrow_mut();
        let Some(shell) = s.shells.pop() else {
            drop(s);
            return fail(search, &error_to_js(&no_shell(&search.borrow().tried)));
        };
        (s.bag.clone(), shell, s.reject.clone())
    };
    let mut options = match Options::read(&bag, Bag::Shell) {
        Ok(o) => o,
        Err(e) => return fail(search, &error_to_js(&e)),
    };
    options.command = vec![shell.clone()];
    let grace_ms = options.start_grace_ms.unwrap_or(DEFAULT_START_GRACE_MS);
    let s = search.clone();
    let next = Box::new(move |started: Started| on_attempt(&s, shell, started));
    let opened = Opened::Shell {
        next,
        reject,
        grace_ms,
    };
    if let Err(e) = session::connect(Kind::Exec, options, opened) {
        fail(search, &error_to_js(&e));
    }
}

fn on_attempt(search: &Shared, shell: String, started: Started) {
    match started {
        Started::Yes(session) => {
            let result = Object::new();
            let _ = Reflect::set(&result, &"session".into(), &session);
            let _ = Reflect::set(&result, &"shell".into(), &JsValue::from_str(&shell));
            let resolve = search.borrow().resolve.clone();
            let _ = resolve.call1(&JsValue::UNDEFINED, &result);
        }
        Started::NotFound(message) => {
            search.borrow_mut().tried.push((shell, message));
            try_next(search);
        }
        Started::Failed(error) => fail(search, &error),
    }
}

fn fail(search: &Shared, error: &JsValue) {
    let reject = search.borrow().reject.clone();
    let _ = reject.call1(&JsValue::UNDEFINED, error);
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
