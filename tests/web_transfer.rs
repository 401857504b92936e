//! File transfer in real browsers against the devserver (tests/web_transfer.js holds the
//! test bodies): byte-exact round trips on v5 and on v4 only, the NoTar and evil-tar pods,
//! bad destinations, aborts. Run by scripts/test.d/50-sdk-browser.sh like tests/web.rs.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Object, Promise, Reflect};
use kube_exec_wasm::web;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/web_transfer.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn run(name: &str, sdk: &JsValue, cfg: &JsValue) -> Result<JsValue, JsValue>;
}

fn env(v: Option<&'static str>, name: &str) -> &'static str {
    v.unwrap_or_else(|| panic!("{name} must be set when building the tests (50-sdk-browser.sh)"))
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
    add("exec", Box::new(|o, _, _| web::exec(o.unchecked_into())));
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

async fn check(name: &str, protocols: &[&str]) {
    let cfg = Object::new();
    set(
        &cfg,
        "server",
        &env(option_env!("KEW_TEST_SERVER"), "KEW_TEST_SERVER").into(),
    );
    set(
        &cfg,
        "token",
        &env(option_env!("KEW_TEST_TOKEN"), "KEW_TEST_TOKEN").into(),
    );
    let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
    set(&cfg, "protocols", &list);
    let sdk = sdk();
    if let Err(e) = run(name, &sdk.object, &cfg).await {
        let message = Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        panic!("{name} on {protocols:?}: {message}");
    }
}

const V5: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];
const V4: &[&str] = &["v4.channel.k8s.io"];

#[wasm_bindgen_test]
async fn round_trip_100_mib_v5() {
    check("bigRoundTrip", V5).await;
}

#[wasm_bindgen_test]
async fn round_trip_100_mib_v4_only() {
    check("bigRoundTrip", V4).await;
}

#[wasm_bindgen_test]
async fn many_files_modes_long_and_non_ascii_names_v5() {
    check("manyFiles", V5).await;
}

#[wasm_bindgen_test]
async fn many_files_modes_long_and_non_ascii_names_v4_only() {
    check("manyFiles", V4).await;
}

#[wasm_bindgen_test]
async fn no_tar_in_the_container_v5() {
    check("noTar", V5).await;
}

#[wasm_bindgen_test]
async fn no_tar_in_the_container_v4_only() {
    check("noTar", V4).await;
}

#[wasm_bindgen_test]
async fn bad_destination_gives_tars_message() {
    check("badDestination", V5).await;
    check("badDestination", V4).await;
}

#[wasm_bindgen_test]
async fn malicious_archive_is_refused_entry_by_entry() {
    check("malicious", V5).await;
    check("malicious", V4).await;
}

#[wasm_bindgen_test]
async fn abort_ends_the_transfer_and_the_remote_tar() {
    check("abortUpload", V5).await;
    check("abortUpload", V4).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_invalid_options() {
    check("badInput", V5).await;
}
