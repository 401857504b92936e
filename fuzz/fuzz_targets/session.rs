#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kube_exec_wasm_fuzz::driver::session(data);
});
