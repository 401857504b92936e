//! File transfer in real browsers against the devserver (tests/web_transfer.js holds the
//! test bodies): byte-exact round trips on v5 and on v4 only, the NoTar and evil-tar pods,
//! bad destinations, aborts. Run by scripts/test.d/50-sdk-browser.sh like tests/web.rs.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod compiled_in;
mod transfer_support;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn check(name: &str, protocols: &[&str]) {
    let server = compiled_in!("KEW_TEST_SERVER", "50-sdk-browser.sh");
    let token = compiled_in!("KEW_TEST_TOKEN", "50-sdk-browser.sh");
    transfer_support::check(name, server, Some(token), protocols).await;
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

/// The base64 subprotocol: stdin is encoded by the core (so bodies do pass through wasm
/// memory there), output decoded in JS; the exact-length upload works the same.
#[wasm_bindgen_test]
async fn many_files_on_v4_base64() {
    check("manyFiles", &["v4.base64.channel.k8s.io"]).await;
}
