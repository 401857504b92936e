//! What the browser test files share: small JS helpers, the option bag, stream readers and
//! writers, and the outcome of a session as a user sees it. Each test file (its own crate)
//! defines `server()` and `token()` at its root: the server under test and the token to send.

#![allow(dead_code)] // each test file uses its own part of these helpers

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use kube_exec_wasm::web::{attach as sdk_attach, exec as sdk_exec};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::{server, token};

// ---- small JS helpers -----------------------------------------------------------------

pub fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).expect("property read")
}

pub fn set(o: &JsValue, k: &str, v: impl Into<JsValue>) {
    Reflect::set(o, &JsValue::from_str(k), &v.into()).expect("property write");
}

pub fn call(o: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let f: Function = get(o, method)
        .dyn_into()
        .unwrap_or_else(|_| panic!("{method} is not a function"));
    f.apply(o, &args.iter().collect::<Array>())
        .unwrap_or_else(|e| panic!("{method} threw {e:?}"))
}

pub async fn wait(p: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::from(p)).await
}

pub fn now() -> f64 {
    js_sys::Date::now()
}

pub fn strings(items: &[&str]) -> Array {
    items.iter().map(|s| JsValue::from_str(s)).collect()
}

/// exec options for `pod` in namespace default, with the server and the token.
pub fn opts(pod: &str, argv: &[&str]) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "server", server());
    set(&o, "token", token());
    set(&o, "namespace", "default");
    set(&o, "pod", pod);
    set(&o, "command", strings(argv));
    o
}

pub fn sh(script: &str) -> JsValue {
    opts("demo", &["sh", "-c", script])
}

pub fn with(o: JsValue, k: &str, v: impl Into<JsValue>) -> JsValue {
    set(&o, k, v);
    o
}

pub fn protocols(o: JsValue, names: &[&str]) -> JsValue {
    with(o, "protocols", strings(names))
}

pub async fn exec(o: &JsValue) -> Result<JsValue, JsValue> {
    sdk_exec(o.clone().unchecked_into())
        .await
        .map(JsValue::from)
}

pub async fn attach(o: &JsValue) -> Result<JsValue, JsValue> {
    sdk_attach(o.clone().unchecked_into())
        .await
        .map(JsValue::from)
}

pub async fn open(o: &JsValue) -> JsValue {
    match exec(o).await {
        Ok(s) => s,
        Err(e) => panic!("exec failed: {}", describe(&e)),
    }
}

pub fn describe(e: &JsValue) -> String {
    format!(
        "{} (code {:?})",
        get(e, "message").as_string().unwrap_or_default(),
        get(e, "code").as_string()
    )
}

/// Checks that `e` is what the contract promises (a real Error named ExecError with a
/// code, a hint, and no token anywhere) and returns its code.
pub fn error_code(e: &JsValue) -> String {
    assert!(e.is_instance_of::<js_sys::Error>(), "not an Error: {e:?}");
    assert_eq!(get(e, "name").as_string().as_deref(), Some("ExecError"));
    let hint = get(e, "hint").as_string().expect("hint is a string");
    assert!(hint.len() > 20, "hint too short: {hint}");
    let message = get(e, "message").as_string().unwrap_or_default();
    let stack = get(e, "stack").as_string().unwrap_or_default();
    assert!(
        !message.contains(token()) && !stack.contains(token()),
        "token leaked"
    );
    get(e, "code").as_string().expect("code is a string")
}

pub async fn expect_exec_error(o: &JsValue) -> (String, JsValue) {
    match exec(o).await {
        Ok(_) => panic!("exec unexpectedly succeeded"),
        Err(e) => (error_code(&e), e),
    }
}

pub struct Reader(pub JsValue);

impl Reader {
    pub fn new(stream: &JsValue) -> Reader {
        Reader(call(stream, "getReader", &[]))
    }

    /// The next chunk (a Uint8Array), or None at the end of the stream.
    pub async fn chunk(&self) -> Option<Uint8Array> {
        let r = wait(call(&self.0, "read", &[]))
            .await
            .expect("read rejected");
        if get(&r, "done").is_truthy() {
            return None;
        }
        Some(
            get(&r, "value")
                .dyn_into::<Uint8Array>()
                .expect("chunks are Uint8Array"),
        )
    }

    pub async fn all(&self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await {
            out.extend(c.to_vec());
        }
        out
    }

    /// Reads until `needle` appears in what was read (or the stream ends).
    pub async fn until(&self, acc: &mut Vec<u8>, needle: &str) -> bool {
        loop {
            if String::from_utf8_lossy(acc).contains(needle) {
                return true;
            }
            match self.chunk().await {
                Some(c) => acc.extend(c.to_vec()),
                None => return false,
            }
        }
    }
}

pub struct Writer(pub JsValue);

impl Writer {
    pub fn new(stream: &JsValue) -> Writer {
        Writer(call(stream, "getWriter", &[]))
    }

    pub async fn write(&self, chunk: impl Into<JsValue>) -> Result<JsValue, JsValue> {
        wait(call(&self.0, "write", &[chunk.into()])).await
    }

    pub async fn close(&self) -> Result<JsValue, JsValue> {
        wait(call(&self.0, "close", &[])).await
    }
}

pub struct Done {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: Result<JsValue, JsValue>,
}

impl Done {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn status(&self) -> &JsValue {
        match &self.exit {
            Ok(s) => s,
            Err(e) => panic!("exit rejected: {}", describe(e)),
        }
    }
    pub fn exit_code(&self) -> Option<f64> {
        get(self.status(), "exitCode").as_f64()
    }
    pub fn success(&self) -> bool {
        get(self.status(), "success")
            .as_bool()
            .expect("success is a boolean")
    }
    pub fn failure(&self) -> String {
        match &self.exit {
            Ok(s) => panic!("exit resolved: {s:?}"),
            Err(e) => error_code(e),
        }
    }
}

/// Reads stdout and stderr to their end, then awaits `exit`.
pub async fn drain(session: &JsValue) -> Done {
    let stdout = Reader::new(&get(session, "stdout")).all().await;
    let stderr = Reader::new(&get(session, "stderr")).all().await;
    let exit = wait(get(session, "exit")).await;
    Done {
        stdout,
        stderr,
        exit,
    }
}

pub async fn run(o: &JsValue) -> Done {
    drain(&open(o).await).await
}

pub const V5: &str = "v5.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";
pub const V4_B64: &str = "v4.base64.channel.k8s.io";
pub const V1_B64: &str = "base64.channel.k8s.io";

pub async fn sha256(bytes: &Uint8Array) -> Vec<u8> {
    let subtle = get(&get(&js_sys::global(), "crypto"), "subtle");
    let digest = wait(call(&subtle, "digest", &["SHA-256".into(), bytes.into()]))
        .await
        .expect("digest");
    Uint8Array::new(&digest).to_vec()
}
/// A terminal size option, `{ cols, rows }`.
pub fn size(cols: u32, rows: u32) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "cols", cols);
    set(&o, "rows", rows);
    o
}

/// `len` random bytes (xorshift from a random seed: incompressible, different every run).
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    let mut x: u64 = (js_sys::Math::random() * 1e15) as u64 | 1;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    data
}

/// The tests run in Firefox (some browser behaviour differs; each use says how).
pub fn is_firefox() -> bool {
    let nav = get(&js_sys::global(), "navigator");
    get(&nav, "userAgent")
        .as_string()
        .is_some_and(|ua| ua.contains("Firefox"))
}

// ---- stdin: every byte, then the end of stdin --------------------------------------------

/// Prints the byte count and the SHA-256 of what the process read on stdin.
pub const COUNT_AND_HASH: &str =
    r#"f=$(mktemp); cat > "$f"; wc -c < "$f"; sha256sum < "$f"; rm -f "$f""#;

/// Writes `total` random bytes in `write_size` writes (each awaited), ends stdin with `end`,
/// and checks that the process read exactly those bytes (count and hash it printed).
pub async fn every_byte_then_eof(o: JsValue, total: usize, write_size: usize, end: End) {
    let data = random_bytes(total);
    let s = open(&with(o, "stdin", true)).await;
    let stdout = get(&s, "stdout");
    let reading = future_to_promise(async move {
        let bytes = Reader::new(&stdout).all().await;
        Ok(JsValue::from(String::from_utf8_lossy(&bytes).into_owned()))
    });
    let w = Writer::new(&get(&s, "stdin"));
    if let End::CloseStdinUnawaited = end {
        // Every write handed over at once, none awaited, then closeStdin.
        let writes: Array = data
            .chunks(write_size)
            .map(|piece| call(&w.0, "write", &[Uint8Array::from(piece).into()]))
            .collect();
        wait(call(&s, "closeStdin", &[])).await.expect("closeStdin");
        wait(Promise::all(&writes).into()).await.expect("writes");
    } else {
        for piece in data.chunks(write_size) {
            w.write(Uint8Array::from(piece)).await.expect("write");
        }
    }
    match end {
        End::CloseStdin => {
            wait(call(&s, "closeStdin", &[])).await.expect("closeStdin");
        }
        End::StreamClose => {
            w.close().await.expect("close of the stdin stream");
        }
        End::NoEof | End::CloseStdinUnawaited => {}
    }
    let out = wait(reading.into()).await.unwrap().as_string().unwrap();
    let want = hex(&sha256(&Uint8Array::from(&data[..])).await);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(total.to_string().as_str()),
        "byte count; output {out:?}"
    );
    let hash = lines.next().unwrap_or_default();
    assert!(hash.starts_with(&want), "hash {hash:?}, want {want}");
    let st = wait(get(&s, "exit")).await.expect("exit");
    assert_eq!(get(&st, "success").as_bool(), Some(true));
}

#[derive(Clone, Copy)]
pub enum End {
    CloseStdin,
    StreamClose,
    /// `closeStdin()` called right after the writes, none of them awaited: the CLOSE signal
    /// must still go out after every one of them.
    CloseStdinUnawaited,
    /// The process stops reading by itself (`head -c N`): no half-close needed.
    NoEof,
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
