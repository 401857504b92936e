//! What the file-transfer browser test files share: the SDK's exports as JS functions, and
//! running one test body of tests/web_transfer.js against a server.

use js_sys::{Function, Object, Promise, Reflect};
use kube_exec_wasm::web;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/tests/web_transfer.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn run(name: &str, sdk: &JsValue, cfg: &JsValue) -> Result<JsValue, JsValue>;
}

fn set(o: &Object, k: &str, v: &JsValue) {
    Reflect::set(o, &JsValue::from_str(k), v).expect("property write");
}

type Call3 = dyn Fn(JsValue, JsValue, JsValue) -> Promise;

/// The SDK's exports as JS functions, for the test bodies (they cannot import the package).
struct Sdk {
    object: Object,
    _keep: Vec<Closure<Call3>>,
}

fn sdk() -> Sdk {
    let object = Object::new();
    let mut keep = Vec::new();
    let mut add = |name: &str, f: Box<Call3>| {
        let c = Closure::wrap(f);
        set(&object, name, c.as_ref().unchecked_ref::<Function>());
        keep.push(c);
    };
    add(
        "exec",
        Box::new(|o, _, _| {
            let opening = web::exec(o.unchecked_into());
            wasm_bindgen_futures::future_to_promise(async move { opening.await.map(JsValue::from) })
        }),
    );
    add(
        "upload",
        Box::new(|t, f, o| web::upload(t.unchecked_into(), f, o.dyn_into().ok())),
    );
    add(
        "download",
        Box::new(|t, p, o| {
            web::download(
                t.unchecked_into(),
                &p.as_string().unwrap_or_default(),
                o.dyn_into().ok(),
            )
        }),
    );
    add("toFile", Box::new(|e, _, _| web::to_file(e)));
    add("toTar", Box::new(|e, _, _| web::to_tar(e)));
    Sdk {
        object,
        _keep: keep,
    }
}

/// Runs the test body `name` against `server` (with `token`, if any), offering `protocols`;
/// panics with its message when it fails.
pub async fn check(name: &str, server: &str, token: Option<&str>, protocols: &[&str]) {
    let cfg = Object::new();
    set(&cfg, "server", &server.into());
    if let Some(t) = token {
        set(&cfg, "token", &t.into());
    }
    let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
    set(&cfg, "protocols", &list);
    let sdk = sdk();
    if let Err(e) = run(name, &sdk.object, &cfg).await {
        let message = Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        panic!("{name} on {server} offering {protocols:?}: {message}");
    }
}
