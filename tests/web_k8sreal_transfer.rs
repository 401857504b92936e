//! File transfer against the Kubernetes v1.35.7 streaming code (../shared/k8sreal), run by
//! scripts/test.d/45-k8sreal.sh: the same test bodies as tests/web_transfer.rs (in
//! tests/web_transfer.js) on the API server path (v5: stdin ends with the CLOSE signal) and on
//! the kubelet path (v4 only: `head -c N` ends tar's input).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod compiled_in;
mod transfer_support;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn apiserver() -> &'static str {
    compiled_in!("KEW_K8SREAL_APISERVER", "45-k8sreal.sh")
}

fn kubelet() -> &'static str {
    compiled_in!("KEW_K8SREAL_KUBELET", "45-k8sreal.sh")
}

const V5: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];
const V4: &[&str] = &["v4.channel.k8s.io"];

#[wasm_bindgen_test]
async fn round_trip_100_mib_through_the_stream_translator() {
    transfer_support::check("bigRoundTrip", apiserver(), None, V5).await;
}

#[wasm_bindgen_test]
async fn round_trip_100_mib_on_the_kubelet_path_v4() {
    transfer_support::check("bigRoundTrip", kubelet(), None, V4).await;
}

/// Offering v5 to a server without it: the SDK sees v4 negotiated, closes that session before
/// sending a byte, and uploads with the exact length instead.
#[wasm_bindgen_test]
async fn v5_offered_to_a_pre_1_30_cluster_falls_back_to_head_c() {
    transfer_support::check("manyFiles", kubelet(), None, V5).await;
}

#[wasm_bindgen_test]
async fn many_files_through_the_stream_translator() {
    transfer_support::check("manyFiles", apiserver(), None, V5).await;
}

#[wasm_bindgen_test]
async fn bad_destination_on_both_paths() {
    transfer_support::check("badDestination", apiserver(), None, V5).await;
    transfer_support::check("badDestination", kubelet(), None, V4).await;
}
