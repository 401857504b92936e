#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kube_exec_wasm_fuzz::driver::tar_parser(data));
