//! Browser tests of the JavaScript API, in headless Chromium against a real devserver.
//!
//! Run by scripts/test.d/50-sdk-browser.sh, which starts
//! `kube-exec-devserver --faults --bench --allow-origin '*' --token <random>` and passes its URL
//! and token in at compile time (`KEW_TEST_SERVER`, `KEW_TEST_TOKEN`). The tests call the
//! exported `exec()`/`attach()` and then look at the session only as a JavaScript user does:
//! through its properties (`stdout`, `exit`, ...), the streams' readers and writers, and the
//! errors' `code`/`hint`/`httpStatus`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;
use wasm_bindgen_test::*;

mod web_support;
use web_support::*;

wasm_bindgen_test_configure!(run_in_browser);

// Not `env!`: clippy and rustdoc build this file without a devserver running.
fn server() -> &'static str {
    match option_env!("KEW_TEST_SERVER") {
        Some(s) => s,
        None => panic!("KEW_TEST_SERVER must be set when building the tests (50-sdk-browser.sh)"),
    }
}

/// A listener that accepts TCP connections and never answers.
fn hanging_server() -> &'static str {
    match option_env!("KEW_TEST_HANGING") {
        Some(s) => s,
        None => panic!("KEW_TEST_HANGING must be set when building the tests (50-sdk-browser.sh)"),
    }
}

fn token() -> &'static str {
    match option_env!("KEW_TEST_TOKEN") {
        Some(s) => s,
        None => panic!("KEW_TEST_TOKEN must be set when building the tests (50-sdk-browser.sh)"),
    }
}

// ---- exit codes and output ------------------------------------------------------------

#[wasm_bindgen_test]
async fn exit_0_with_stdout_as_views_of_the_message() {
    let s = open(&sh("echo hello")).await;
    assert_eq!(get(&s, "protocol").as_string().as_deref(), Some(V5));
    let r = Reader::new(&get(&s, "stdout"));
    let first = r.chunk().await.expect("one chunk");
    // Zero-copy: the chunk is a view of the received message, past its channel byte.
    assert_eq!(first.byte_offset(), 1);
    assert_eq!(first.buffer().byte_length(), first.byte_length() + 1);
    let mut out = first.to_vec();
    out.extend(r.all().await);
    assert_eq!(out, b"hello\n");
    let st = wait(get(&s, "exit")).await.expect("exit resolves");
    assert_eq!(get(&st, "success").as_bool(), Some(true));
    assert_eq!(get(&st, "exitCode").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn exit_7() {
    let d = run(&sh("echo out; exit 7")).await;
    assert_eq!(d.out(), "out\n");
    assert!(!d.success());
    assert_eq!(d.exit_code(), Some(7.0));
    assert_eq!(
        get(d.status(), "reason").as_string().as_deref(),
        Some("NonZeroExitCode")
    );
}

#[wasm_bindgen_test]
async fn exit_255() {
    let d = run(&sh("exit 255")).await;
    assert!(!d.success());
    assert_eq!(d.exit_code(), Some(255.0));
}

#[wasm_bindgen_test]
async fn command_not_found_is_a_status_without_exit_code() {
    let d = run(&opts("demo", &["/no/such/binary"])).await;
    assert!(!d.success());
    assert_eq!(d.exit_code(), None);
    assert!(get(d.status(), "message").is_string());
}

#[wasm_bindgen_test]
async fn stdout_and_stderr_apart() {
    let d = run(&sh("echo to-out; echo to-err >&2; echo more-out")).await;
    assert_eq!(d.out(), "to-out\nmore-out\n");
    assert_eq!(d.err(), "to-err\n");
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn callback_adapter() {
    let s = open(&sh("echo one; echo two >&2; echo three")).await;
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let err = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let (o, e) = (out.clone(), err.clone());
    let on_out =
        wasm_bindgen::closure::Closure::<dyn FnMut(Uint8Array)>::new(move |c: Uint8Array| {
            o.borrow_mut().extend(c.to_vec())
        });
    let on_err =
        wasm_bindgen::closure::Closure::<dyn FnMut(Uint8Array)>::new(move |c: Uint8Array| {
            e.borrow_mut().extend(c.to_vec())
        });
    let a = call(&s, "onStdout", &[on_out.as_ref().clone()]);
    let b = call(&s, "onStderr", &[on_err.as_ref().clone()]);
    wait(a).await.expect("onStdout resolves at the end");
    wait(b).await.expect("onStderr resolves at the end");
    assert_eq!(&*out.borrow(), b"one\nthree\n");
    assert_eq!(&*err.borrow(), b"two\n");
    assert!(wait(get(&s, "exit")).await.is_ok());
}

#[wasm_bindgen_test]
async fn stderr_off_is_not_read() {
    let o = with(sh("echo out; echo err >&2"), "stderr", false);
    let d = run(&o).await;
    assert_eq!(d.out(), "out\n");
    assert_eq!(d.err(), "");
}

#[wasm_bindgen_test]
async fn split_utf8_bytes_arrive_intact() {
    for p in [V5, V4, V4_B64] {
        let d = run(&protocols(opts("fault-split-utf8", &["x"]), &[p])).await;
        assert_eq!(d.out(), "héllo wörld € 𝄞\n", "{p}");
        assert!(d.success(), "{p}");
    }
}

// ---- stdin ----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn stdin_through_cat_ended_with_close_stdin_on_v5() {
    let s = open(&with(opts("demo", &["cat"]), "stdin", true)).await;
    let w = Writer::new(&get(&s, "stdin"));
    w.write("héllo, ").await.expect("string write");
    w.write(Uint8Array::from(&b"bytes \xff\x00\n"[..]))
        .await
        .expect("bytes write");
    wait(call(&s, "closeStdin", &[])).await.expect("closeStdin");
    let d = drain(&s).await;
    let mut want = "héllo, ".as_bytes().to_vec();
    want.extend_from_slice(b"bytes \xff\x00\n");
    assert_eq!(d.stdout, want);
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn closing_the_stdin_stream_ends_stdin() {
    let s = open(&with(opts("demo", &["wc", "-c"]), "stdin", true)).await;
    let w = Writer::new(&get(&s, "stdin"));
    w.write("12345").await.unwrap();
    w.close().await.expect("close of the stdin stream");
    let d = drain(&s).await;
    assert_eq!(d.out().trim(), "5");
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn random_16_mib_through_cat_byte_exact() {
    const LEN: usize = 16 << 20;
    let data = random_bytes(LEN);
    let s = open(&with(opts("demo", &["cat"]), "stdin", true)).await;
    let stdout = get(&s, "stdout");
    let reading = future_to_promise(async move {
        let bytes = Reader::new(&stdout).all().await;
        Ok(Uint8Array::from(&bytes[..]).into())
    });
    let w = Writer::new(&get(&s, "stdin"));
    for piece in data.chunks(64 * 1024) {
        w.write(Uint8Array::from(piece)).await.expect("write");
    }
    wait(call(&s, "closeStdin", &[])).await.expect("closeStdin");
    let got: Uint8Array = wait(reading.into()).await.unwrap().dyn_into().unwrap();
    assert_eq!(got.length() as usize, LEN);
    let sent = Uint8Array::from(&data[..]);
    assert_eq!(sha256(&got).await, sha256(&sent).await);
    let st = wait(get(&s, "exit")).await.expect("exit");
    assert_eq!(get(&st, "success").as_bool(), Some(true));
}

// The end of stdin after large writes (issue 13): every byte, then EOF. The same cases run
// against the Kubernetes streaming code itself in tests/web_k8sreal.rs.
#[wasm_bindgen_test]
async fn three_mib_in_64_kib_writes_then_close_stdin() {
    every_byte_then_eof(sh(COUNT_AND_HASH), 3 << 20, 64 << 10, End::CloseStdin).await;
}

#[wasm_bindgen_test]
async fn sixteen_mib_in_1_mib_writes_then_close_stdin() {
    every_byte_then_eof(sh(COUNT_AND_HASH), 16 << 20, 1 << 20, End::CloseStdin).await;
}

#[wasm_bindgen_test]
async fn close_stdin_after_writes_not_yet_awaited() {
    every_byte_then_eof(
        sh(COUNT_AND_HASH),
        2 << 20,
        256 << 10,
        End::CloseStdinUnawaited,
    )
    .await;
}

#[wasm_bindgen_test]
async fn stdin_writes_wait_while_the_socket_is_backed_up() {
    // The process reads nothing for a second: 96 MiB of writes (far more than the buffers of
    // the browser, the kernel and the server hold) resolve only as the socket drains.
    let s = open(&with(sh("sleep 1; wc -c"), "stdin", true)).await;
    let w = Writer::new(&get(&s, "stdin"));
    let chunk = Uint8Array::new_with_length(1 << 20);
    let t0 = now();
    for _ in 0..96 {
        w.write(chunk.clone()).await.expect("write");
    }
    let waited = now() - t0;
    wait(call(&s, "closeStdin", &[])).await.expect("closeStdin");
    let d = drain(&s).await;
    assert_eq!(d.out().trim(), (96u32 << 20).to_string());
    assert!(
        waited > 500.0,
        "96 MiB of writes resolved after {waited} ms"
    );
}

#[wasm_bindgen_test]
async fn stdin_write_after_the_end_rejects() {
    let s = open(&with(sh("exit 0"), "stdin", true)).await;
    let _ = drain(&s).await;
    let w = Writer::new(&get(&s, "stdin"));
    let e = w.write("late").await.expect_err("write after the end");
    assert!(e.is_instance_of::<js_sys::Error>());
    let e = wait(call(&s, "closeStdin", &[]))
        .await
        .expect_err("closeStdin after end");
    assert_eq!(error_code(&e), "NotOpen");
}

#[wasm_bindgen_test]
async fn stdin_not_requested_is_invalid() {
    let s = open(&sh("sleep 5")).await;
    let e = wait(call(&s, "closeStdin", &[]))
        .await
        .expect_err("no stdin");
    assert_eq!(error_code(&e), "InvalidOptions");
    call(&s, "close", &[]);
}

// ---- protocols ------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn v4_fallback_and_its_refusal_to_half_close() {
    // Offering only v4 is what an older cluster negotiates.
    let s = open(&protocols(
        with(
            opts("demo", &["sh", "-c", "head -c 4; exit 3"]),
            "stdin",
            true,
        ),
        &[V4],
    ))
    .await;
    assert_eq!(get(&s, "protocol").as_string().as_deref(), Some(V4));
    let e = wait(call(&s, "closeStdin", &[]))
        .await
        .expect_err("v4 cannot half-close");
    assert_eq!(error_code(&e), "HalfCloseUnsupported");
    let w = Writer::new(&get(&s, "stdin"));
    w.write("ping").await.unwrap();
    let d = drain(&s).await;
    assert_eq!(d.out(), "ping");
    assert_eq!(d.exit_code(), Some(3.0));
}

#[wasm_bindgen_test]
async fn server_picks_from_the_offer_in_order() {
    let s = open(&protocols(sh("true"), &[V4, V5])).await;
    assert_eq!(get(&s, "protocol").as_string().as_deref(), Some(V4));
    let _ = drain(&s).await;
}

#[wasm_bindgen_test]
async fn v4_base64() {
    let s = open(&protocols(
        with(
            opts("demo", &["sh", "-c", "head -c 6; echo ' é' >&2; exit 4"]),
            "stdin",
            true,
        ),
        &[V4_B64],
    ))
    .await;
    assert_eq!(get(&s, "protocol").as_string().as_deref(), Some(V4_B64));
    Writer::new(&get(&s, "stdin"))
        .write(Uint8Array::from(&b"\x00\xffab\xc3\xa9"[..]))
        .await
        .unwrap();
    let d = drain(&s).await;
    assert_eq!(d.stdout, b"\x00\xffab\xc3\xa9");
    assert_eq!(d.err(), " é\n");
    assert_eq!(d.exit_code(), Some(4.0));
}

#[wasm_bindgen_test]
async fn v1_base64() {
    let d = run(&protocols(sh("printf 'a\\nb'; echo e >&2"), &[V1_B64])).await;
    assert_eq!(d.out(), "a\nb");
    assert_eq!(d.err(), "e\n");
    assert!(d.success());
    let d = run(&protocols(sh("exit 9"), &[V1_B64])).await;
    assert!(!d.success());
}

#[wasm_bindgen_test]
async fn base64_without_uint8array_from_base64_uses_the_fallback() {
    let ctor = get(&js_sys::global(), "Uint8Array");
    let native = get(&ctor, "fromBase64");
    Reflect::delete_property(ctor.unchecked_ref::<Object>(), &"fromBase64".into()).unwrap();
    let d = run(&protocols(sh("printf '\\303\\251\\000\\377'"), &[V4_B64])).await;
    if native.is_function() {
        set(&ctor, "fromBase64", native);
    }
    assert_eq!(d.stdout, b"\xc3\xa9\x00\xff");
    assert!(d.success());
}

// ---- tty and resize -------------------------------------------------------------------

#[wasm_bindgen_test]
async fn terminal_size_is_sent_on_open() {
    let o = with(
        with(sh("sleep 0.3; stty size"), "tty", true),
        "terminalSize",
        size(123, 45),
    );
    let d = run(&o).await;
    assert!(d.out().contains("45 123"), "stty said {:?}", d.out());
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn tty_resize_observed_through_stty() {
    let o = with(
        with(with(opts("demo", &["sh"]), "tty", true), "stdin", true),
        "terminalSize",
        size(100, 30),
    );
    let s = open(&o).await;
    let r = Reader::new(&get(&s, "stdout"));
    let w = Writer::new(&get(&s, "stdin"));
    let mut out = Vec::new();
    w.write("stty size\n").await.unwrap();
    assert!(
        r.until(&mut out, "30 100").await,
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    call(&s, "resize", &[120.into(), 40.into()]);
    w.write("stty size\n").await.unwrap();
    assert!(
        r.until(&mut out, "40 120").await,
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    Writer::new(&get(&s, "resizes"))
        .write(size(90, 20))
        .await
        .expect("resizes write");
    w.write("stty size; exit 3\n").await.unwrap();
    assert!(
        r.until(&mut out, "20 90").await,
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    let _ = r.all().await;
    let st = wait(get(&s, "exit")).await.expect("exit");
    assert_eq!(get(&st, "exitCode").as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
async fn bad_resizes_throw_invalid_options() {
    let s = open(&with(with(sh("sleep 5"), "tty", true), "stdin", true)).await;
    let resize: Function = get(&s, "resize").dyn_into().unwrap();
    for (c, r) in [(0.0, 10.0), (10.0, 70000.0), (1.5, 2.0), (f64::NAN, 3.0)] {
        let e = resize
            .call2(&s, &c.into(), &r.into())
            .expect_err("bad size accepted");
        assert_eq!(error_code(&e), "InvalidOptions");
    }
    call(&s, "close", &[]);
    let no_tty = open(&sh("sleep 5")).await;
    let e = resize
        .call2(&no_tty, &80.into(), &24.into())
        .expect_err("resize without tty");
    assert_eq!(error_code(&e), "InvalidOptions");
    call(&no_tty, "close", &[]);
}

// ---- credentials and handshake failures -----------------------------------------------

#[wasm_bindgen_test]
async fn token_accepted() {
    let d = run(&sh("echo authorized")).await;
    assert_eq!(d.out(), "authorized\n");
}

#[wasm_bindgen_test]
async fn wrong_token_is_unauthorized_via_the_preflight() {
    let (code, e) = expect_exec_error(&with(sh("true"), "token", "not-the-token")).await;
    assert_eq!(code, "Unauthorized");
    assert_eq!(get(&e, "httpStatus").as_f64(), Some(401.0));
    let message = get(&e, "message").as_string().unwrap();
    assert!(!message.contains("not-the-token"));
}

#[wasm_bindgen_test]
async fn no_token_is_unauthorized() {
    let o = sh("true");
    Reflect::delete_property(o.unchecked_ref::<Object>(), &"token".into()).unwrap();
    let (code, _) = expect_exec_error(&o).await;
    assert_eq!(code, "Unauthorized");
}

#[wasm_bindgen_test]
async fn without_preflight_a_refused_handshake_is_connect_failed() {
    let o = with(with(sh("true"), "token", "wrong"), "preflight", false);
    let (code, e) = expect_exec_error(&o).await;
    assert_eq!(code, "ConnectFailed");
    assert!(get(&e, "httpStatus").is_undefined());
}

#[wasm_bindgen_test]
async fn unknown_pod_and_namespace_are_not_found() {
    let (code, e) = expect_exec_error(&opts("no-such-pod", &["true"])).await;
    assert_eq!(code, "NotFound");
    assert_eq!(get(&e, "httpStatus").as_f64(), Some(404.0));
    assert!(get(&e, "status").is_object(), "the server's Status is kept");
    let (code, _) = expect_exec_error(&with(opts("demo", &["true"]), "namespace", "nope")).await;
    assert_eq!(code, "NotFound");
}

#[wasm_bindgen_test]
async fn multi_container_pod_without_container_fails_to_connect() {
    let (code, _) = expect_exec_error(&opts("two", &["true"])).await;
    assert_eq!(code, "ConnectFailed");
    let d = run(&with(
        opts("two", &["sh", "-c", "echo in-b"]),
        "container",
        "b",
    ))
    .await;
    assert_eq!(d.out(), "in-b\n");
}

#[wasm_bindgen_test]
async fn stopped_container_is_a_failure_status_not_a_success() {
    // On v5 the API server upgrades first and reports the kubelet's error as a Status.
    let d = run(&opts("stopped", &["true"])).await;
    assert!(!d.success());
    assert_eq!(d.exit_code(), None);
    let message = get(d.status(), "message").as_string().unwrap_or_default();
    assert!(message.contains("container not found"), "{message}");
}

#[wasm_bindgen_test]
async fn invalid_options_reject_with_invalid_options() {
    let cases: Vec<JsValue> = vec![
        JsValue::from(42),
        Object::new().into(),
        with(sh("true"), "namespace", 7),
        with(sh("true"), "pod", "Not_A_Name"),
        with(sh("true"), "command", "echo"),
        with(sh("true"), "command", Array::new()),
        with(sh("true"), "stdin", "yes"),
        with(sh("true"), "protocols", strings(&["v9.channel.k8s.io"])),
        // Only the token's entry would be offered: the API server refuses that.
        with(sh("true"), "protocols", Array::new()),
        with(sh("true"), "connectTimeout", -1),
        with(sh("true"), "terminalSize", size(0, 10)),
        with(sh("true"), "signal", "not a signal"),
        with(sh("true"), "token", ""),
        with(with(sh("true"), "stdout", false), "stderr", false),
        // A token over plain ws:// to a host that is not loopback, without the opt-in.
        with(sh("true"), "server", "http://cluster.example.invalid:8080"),
    ];
    for (i, o) in cases.iter().enumerate() {
        let (code, e) = expect_exec_error(o).await;
        assert_eq!(code, "InvalidOptions", "case {i}: {}", describe(&e));
    }
    let a = with(opts("echo", &["cat"]), "stdin", true);
    let e = attach(&a).await.expect_err("attach with a command");
    assert_eq!(error_code(&e), "InvalidOptions");
}

#[wasm_bindgen_test]
async fn a_handshake_that_hangs_times_out() {
    let o = with(
        with(sh("true"), "server", hanging_server()),
        "connectTimeout",
        800,
    );
    let t0 = now();
    let (code, _) = expect_exec_error(&o).await;
    let ms = now() - t0;
    assert_eq!(code, "Timeout");
    assert!((700.0..3000.0).contains(&ms), "{ms} ms");
}

// ---- ending a session -----------------------------------------------------------------

#[wasm_bindgen_test]
async fn abort_signal_aborts_an_open_session() {
    let ctl = web_sys::AbortController::new().unwrap();
    let s = open(&with(sh("echo started; sleep 30"), "signal", ctl.signal())).await;
    let r = Reader::new(&get(&s, "stdout"));
    let mut out = Vec::new();
    assert!(r.until(&mut out, "started").await);
    let t0 = now();
    ctl.abort();
    let e = wait(get(&s, "exit")).await.expect_err("exit rejects");
    assert_eq!(error_code(&e), "Aborted");
    assert!(r.chunk().await.is_none(), "stdout ends");
    assert!(now() - t0 < 2000.0);
}

#[wasm_bindgen_test]
async fn abort_before_and_while_connecting() {
    let ctl = web_sys::AbortController::new().unwrap();
    ctl.abort();
    let (code, _) = expect_exec_error(&with(sh("true"), "signal", ctl.signal())).await;
    assert_eq!(code, "Aborted");

    let ctl = web_sys::AbortController::new().unwrap();
    let o = with(sh("sleep 30"), "signal", ctl.signal());
    let pending = future_to_promise(async move { exec(&o).await });
    ctl.abort();
    let e = wait(pending.into()).await.expect_err("exec rejects");
    assert_eq!(error_code(&e), "Aborted");
}

#[wasm_bindgen_test]
async fn close_ends_the_session() {
    let s = open(&with(sh("sleep 30"), "stdin", true)).await;
    call(&s, "close", &[]);
    call(&s, "close", &[]);
    let e = wait(get(&s, "exit")).await.expect_err("exit rejects");
    assert_eq!(error_code(&e), "Aborted");
    assert!(Reader::new(&get(&s, "stdout")).chunk().await.is_none());
    let e = Writer::new(&get(&s, "stdin"))
        .write("x")
        .await
        .expect_err("write after close");
    assert_eq!(error_code(&e), "Aborted");
}

#[wasm_bindgen_test]
async fn a_later_abort_does_not_touch_an_ended_session() {
    let ctl = web_sys::AbortController::new().unwrap();
    let s = open(&with(sh("echo done"), "signal", ctl.signal())).await;
    let d = drain(&s).await;
    assert!(d.success());
    ctl.abort();
    let st = wait(get(&s, "exit")).await.expect("still resolved");
    assert_eq!(get(&st, "success").as_bool(), Some(true));
}

// ---- faults ---------------------------------------------------------------------------

async fn fault(pod: &str, protocol: &str, extra: Option<(&str, JsValue)>) -> (Done, f64) {
    let mut o = protocols(opts(pod, &["x"]), &[protocol]);
    if let Some((k, v)) = extra {
        o = with(o, k, v);
    }
    let t0 = now();
    let d = run(&o).await;
    (d, now() - t0)
}

#[wasm_bindgen_test]
async fn fault_drop_is_connection_lost_keeping_the_output() {
    for p in [V5, V4, V4_B64] {
        let o = protocols(opts("fault-drop", &["x"]), &[p]);
        let t0 = now();
        match exec(&o).await {
            Ok(s) => {
                let d = drain(&s).await;
                assert_eq!(d.out(), "partial\n", "{p}");
                assert_eq!(d.failure(), "ConnectionLost", "{p}");
            }
            // Firefox may report a connection cut right behind the 101 response as a failed
            // handshake (no `open` event): then there is no session to lose.
            Err(e) if is_firefox() => assert_eq!(error_code(&e), "ConnectFailed", "{p}"),
            Err(e) => panic!("{p}: exec failed: {}", describe(&e)),
        }
        let ms = now() - t0;
        assert!(ms < 5000.0, "{p}: {ms} ms");
    }
}

#[wasm_bindgen_test]
async fn fault_close_abnormal_is_connection_lost() {
    for p in [V5, V4, V4_B64] {
        let (d, ms) = fault("fault-close-abnormal", p, None).await;
        assert_eq!(d.out(), "partial\n", "{p}");
        assert_eq!(d.failure(), "ConnectionLost", "{p}");
        assert!(ms < 5000.0, "{p}: {ms} ms");
    }
}

#[wasm_bindgen_test]
async fn fault_malformed_is_a_protocol_error() {
    for p in [V5, V4, V4_B64] {
        let (d, ms) = fault("fault-malformed", p, None).await;
        assert_eq!(d.failure(), "ProtocolError", "{p}");
        assert!(ms < 5000.0, "{p}: {ms} ms");
    }
}

#[wasm_bindgen_test]
async fn fault_bad_status_is_a_protocol_error() {
    for p in [V5, V4, V4_B64] {
        let (d, ms) = fault("fault-bad-status", p, None).await;
        assert_eq!(d.failure(), "ProtocolError", "{p}");
        assert!(ms < 5000.0, "{p}: {ms} ms");
    }
}

#[wasm_bindgen_test]
async fn fault_stall_times_out() {
    for p in [V5, V4, V4_B64] {
        let (d, ms) = fault("fault-stall", p, Some(("readyTimeout", 1000.into()))).await;
        assert_eq!(d.failure(), "Timeout", "{p}");
        assert!((900.0..5000.0).contains(&ms), "{p}: {ms} ms");
    }
}

#[wasm_bindgen_test]
async fn fault_large_64_mib_in_order() {
    let s = open(&opts("fault-large", &["x"])).await;
    let r = Reader::new(&get(&s, "stdout"));
    let mut offset: usize = 0;
    while let Some(c) = r.chunk().await {
        for (k, b) in c.to_vec().into_iter().enumerate() {
            if b != ((offset + k) % 251) as u8 {
                panic!("byte {} is {b}", offset + k);
            }
        }
        offset += c.length() as usize;
    }
    assert_eq!(offset, 64 << 20);
    let st = wait(get(&s, "exit")).await.expect("exit");
    assert_eq!(get(&st, "success").as_bool(), Some(true));
}

// ---- streams: coalescing and views ------------------------------------------------------

#[wasm_bindgen_test]
async fn small_frames_that_wait_are_coalesced() {
    // 2000 one-byte frames arrive while nobody reads: they come out as a few chunks.
    let s = open(&opts("bench", &["small", "2000"])).await;
    wait(get(&s, "exit")).await.expect("exit");
    let r = Reader::new(&get(&s, "stdout"));
    let (mut chunks, mut bytes) = (0, 0);
    while let Some(c) = r.chunk().await {
        chunks += 1;
        bytes += c.length();
    }
    assert_eq!(bytes, 2000);
    assert!(chunks <= 3, "{chunks} chunks");
}

#[wasm_bindgen_test]
async fn merged_chunks_stay_small() {
    // 256 frames of 4 KiB wait for the reader: merged into chunks of at most 32 KiB.
    let s = open(&opts("bench", &["bulk", "1048576", "4096"])).await;
    wait(get(&s, "exit")).await.expect("exit");
    let r = Reader::new(&get(&s, "stdout"));
    let (mut chunks, mut bytes) = (0, 0);
    while let Some(c) = r.chunk().await {
        assert!(c.length() <= 32768, "chunk of {}", c.length());
        chunks += 1;
        bytes += c.length();
    }
    assert_eq!(bytes, 1 << 20);
    assert!((32..=40).contains(&chunks), "{chunks} chunks");
}

#[wasm_bindgen_test]
async fn small_frames_in_a_burst_are_coalesced_while_the_reader_waits() {
    // The reader is always waiting here; frames of one burst still share chunks.
    let s = open(&opts("bench", &["small", "5000"])).await;
    let r = Reader::new(&get(&s, "stdout"));
    let (mut chunks, mut bytes) = (0, 0);
    while let Some(c) = r.chunk().await {
        chunks += 1;
        bytes += c.length();
    }
    assert_eq!(bytes, 5000);
    assert!(chunks < 5000, "{chunks} chunks for 5000 frames");
    console_log!("5000 one-byte frames read as {chunks} chunks");
    wait(get(&s, "exit")).await.expect("exit");
}

#[wasm_bindgen_test]
async fn large_frames_are_never_copied() {
    let s = open(&opts("bench", &["bulk", "1048576", "65536"])).await;
    wait(get(&s, "exit")).await.expect("exit");
    let r = Reader::new(&get(&s, "stdout"));
    let mut n = 0;
    while let Some(c) = r.chunk().await {
        assert_eq!(c.byte_offset(), 1, "a view past the channel byte");
        assert_eq!(c.length(), 65536);
        n += 1;
    }
    assert_eq!(n, 16);
}

// ---- many sessions, attach ------------------------------------------------------------

#[wasm_bindgen_test]
async fn twenty_concurrent_sessions() {
    // Each session waits for a line on stdin, so all 20 are open at the same time before any
    // can end. (Chromium itself delays new WebSockets while many are connecting at once.)
    let opening = Array::new();
    for i in 0..20u32 {
        let script = format!(
            "read line; echo \"$line-{i}\"; echo err-{i} >&2; exit {}",
            i % 5
        );
        let o = with(sh(&script), "stdin", true);
        opening.push(&future_to_promise(async move { exec(&o).await }));
    }
    let sessions: Array = wait(Promise::all(&opening).into())
        .await
        .map_err(|e| describe(&e))
        .expect("20 sessions open")
        .dyn_into()
        .unwrap();
    assert_eq!(sessions.length(), 20);
    let ending = Array::new();
    for s in sessions.iter() {
        ending.push(&future_to_promise(async move {
            Writer::new(&get(&s, "stdin")).write("hello\n").await?;
            let d = drain(&s).await;
            let r = Array::new();
            r.push(&d.out().into());
            r.push(&d.err().into());
            r.push(&d.exit_code().map_or(JsValue::NULL, JsValue::from));
            Ok(r.into())
        }));
    }
    let results: Array = wait(Promise::all(&ending).into())
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    for (i, r) in results.iter().enumerate() {
        let r: Array = r.dyn_into().unwrap();
        assert_eq!(r.get(0).as_string().unwrap(), format!("hello-{i}\n"));
        assert_eq!(r.get(1).as_string().unwrap(), format!("err-{i}\n"));
        assert_eq!(r.get(2).as_f64(), Some((i % 5) as f64));
    }
}

#[wasm_bindgen_test]
async fn attach_to_the_echo_pod() {
    let o: JsValue = Object::new().into();
    set(&o, "server", server());
    set(&o, "token", token());
    set(&o, "namespace", "default");
    set(&o, "pod", "echo");
    set(&o, "container", "echo");
    set(&o, "stdin", true);
    let s = match attach(&o).await {
        Ok(s) => s,
        Err(e) => panic!("attach failed: {}", describe(&e)),
    };
    let r = Reader::new(&get(&s, "stdout"));
    let w = Writer::new(&get(&s, "stdin"));
    w.write("ping from attach\n").await.unwrap();
    let mut out = Vec::new();
    assert!(r.until(&mut out, "ping from attach\n").await);
    call(&s, "close", &[]);
    let e = wait(get(&s, "exit")).await.expect_err("closed");
    assert_eq!(error_code(&e), "Aborted");
}

#[wasm_bindgen_test]
async fn attach_to_the_demo_shell_with_a_tty() {
    let o: JsValue = Object::new().into();
    set(&o, "server", server());
    set(&o, "token", token());
    set(&o, "namespace", "default");
    set(&o, "pod", "demo");
    set(&o, "stdin", true);
    set(&o, "tty", true);
    set(&o, "terminalSize", size(80, 24));
    let s = match attach(&o).await {
        Ok(s) => s,
        Err(e) => panic!("attach failed: {}", describe(&e)),
    };
    let r = Reader::new(&get(&s, "stdout"));
    Writer::new(&get(&s, "stdin"))
        .write("echo attached-$((6*7))\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    assert!(r.until(&mut out, "attached-42").await);
    call(&s, "close", &[]);
    assert!(wait(get(&s, "exit")).await.is_err());
}

#[wasm_bindgen_test]
async fn sessions_end_and_release_their_buffers() {
    let s = open(&sh("echo x")).await;
    let d = drain(&s).await;
    assert!(d.success());
    assert_eq!(get(&s, "bufferedOutput").as_f64(), Some(0.0));
    // Twice the same property: the same objects (no new stream per read).
    assert!(Object::is(&get(&s, "stdout"), &get(&s, "stdout")));
    assert!(get(&s, "stdin").is_instance_of::<web_sys::WritableStream>());
}
