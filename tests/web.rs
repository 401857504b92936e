//! Browser tests of the JavaScript API, in headless Chromium against a real devserver.
//!
//! Run by scripts/test.d/50-sdk-browser.sh, which starts
//! `kube-exec-devserver --faults --bench --allow-origin '*'` (a random token in
//! `KEW_DEVSERVER_TOKEN`, never argv) and passes its URL
//! and token in at compile time (`KEW_TEST_SERVER`, `KEW_TEST_TOKEN`). The tests call the
//! exported `exec()`/`attach()` and then look at the session only as a JavaScript user does:
//! through its properties (`stdout`, `exit`, ...), the streams' readers and writers, and the
//! errors' `code`/`hint`/`httpStatus`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use kube_exec_wasm::web::{get_pod as sdk_get_pod, open_shell as sdk_open_shell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::*;

#[macro_use]
mod compiled_in;
mod web_support;
use web_support::*;

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    compiled_in!("KEW_TEST_SERVER", "50-sdk-browser.sh")
}

/// A listener that accepts TCP connections and never answers.
fn hanging_server() -> &'static str {
    compiled_in!("KEW_TEST_HANGING", "50-sdk-browser.sh")
}

/// A devserver started with `--idle-timeout 1`: a session without a client data frame for
/// 1 s is cut, as by a load balancer's idle limit.
fn idle_server() -> &'static str {
    compiled_in!("KEW_TEST_IDLE_SERVER", "50-sdk-browser.sh")
}

fn token() -> &'static str {
    compiled_in!("KEW_TEST_TOKEN", "50-sdk-browser.sh")
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

/// A script whose stdout comes in frames of 1 to 6 bytes (every length modulo 3, so every
/// padding of the base64 text), then ~100 KB crossing frames; and the bytes it prints.
fn every_base64_length() -> (JsValue, Vec<u8>) {
    let parts = ["\\303", "\\251\\000", "\\377ab", "cdef", "ghijk", "lmnopq"];
    let bytes: [&[u8]; 6] = [
        b"\xc3",
        b"\xa9\x00",
        b"\xffab",
        b"cdef",
        b"ghijk",
        b"lmnopq",
    ];
    let script = parts
        .map(|p| format!("printf '{p}'; sleep 0.05; "))
        .concat()
        + "seq 1 20000";
    let mut want = bytes.concat();
    for i in 1..=20000 {
        want.extend_from_slice(format!("{i}\n").as_bytes());
    }
    (protocols(sh(&script), &[V4_B64]), want)
}

#[wasm_bindgen_test]
async fn base64_output_of_every_length_is_byte_exact() {
    let (o, want) = every_base64_length();
    let d = run(&o).await;
    assert_eq!(d.stdout.len(), want.len());
    assert!(d.stdout == want, "stdout differs");
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn base64_without_native_decoding_uses_the_fallback() {
    // The browser's base64 decoders (Uint8Array.fromBase64, .prototype.setFromBase64) taken
    // away for this one session, and atob counted: the glue falls back to atob. (Were the
    // fallback broken, the core would still decode the frames, through wasm memory.)
    let global = js_sys::global();
    let ctor = get(&global, "Uint8Array");
    let proto = get(&ctor, "prototype");
    let natives = [(&ctor, "fromBase64"), (&proto, "setFromBase64")].map(|(o, k)| {
        let f = get(o, k);
        Reflect::delete_property(o.unchecked_ref::<Object>(), &k.into()).unwrap();
        (o, k, f)
    });
    let atob: Function = get(&global, "atob").unchecked_into();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = {
        let (atob, calls) = (atob.clone(), calls.clone());
        wasm_bindgen::closure::Closure::<dyn FnMut(JsValue) -> Result<JsValue, JsValue>>::new(
            move |s| {
                calls.set(calls.get() + 1);
                atob.call1(&JsValue::UNDEFINED, &s)
            },
        )
    };
    set(&global, "atob", counted.as_ref().clone());
    let (o, want) = every_base64_length();
    let d = run(&o).await;
    set(&global, "atob", atob);
    for (o, k, f) in natives {
        if f.is_function() {
            set(o, k, f);
        }
    }
    assert!(d.stdout == want, "stdout differs");
    assert!(d.success());
    assert!(calls.get() >= 7, "atob called {} times", calls.get());
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
async fn a_redirect_is_not_followed_and_is_reported() {
    // fault-redirect answers the upgrade and the pod GET with 302 to /version, which the
    // token would open (200). The preflight must stop at the redirect and say so.
    let (code, e) = expect_exec_error(&opts("fault-redirect", &["true"])).await;
    assert_eq!(code, "ConnectFailed", "{}", describe(&e));
    let message = get(&e, "message").as_string().unwrap_or_default();
    let hint = get(&e, "hint").as_string().unwrap_or_default();
    assert!(message.contains("redirect"), "{message}");
    assert!(hint.contains("redirected"), "{hint}");
    assert!(
        !message.contains("readable"),
        "the redirect was followed: {message}"
    );
    assert!(get(&e, "httpStatus").is_undefined());
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
async fn multi_container_pod_without_container_is_container_required() {
    // The API server refuses it before the upgrade (the browser sees 1006); the preflight
    // reads the pod and names the containers.
    let (code, e) = expect_exec_error(&opts("two", &["true"])).await;
    assert_eq!(code, "ContainerRequired");
    assert_eq!(names(&get(&e, "containers")), ["a", "b"]);
    let message = get(&e, "message").as_string().unwrap();
    assert!(message.contains("choose one of a, b"), "{message}");
    let (code, e) = expect_exec_error(&opts("sidecar", &["true"])).await;
    assert_eq!(code, "ContainerRequired");
    assert_eq!(names(&get(&e, "containers")), ["proxy", "app", "metrics"]);
    // A container the pod does not have: NotFound, listing the ones it has.
    let (code, e) = expect_exec_error(&with(opts("two", &["true"]), "container", "zzz")).await;
    assert_eq!(code, "NotFound");
    assert_eq!(names(&get(&e, "containers")), ["a", "b"]);
    // A container that is not running, on the runtime (v4) path, where the upgrade is refused.
    let o = protocols(
        with(opts("sidecar", &["true"]), "container", "metrics"),
        &[V4],
    );
    let (code, e) = expect_exec_error(&o).await;
    assert_eq!(code, "ConnectFailed");
    let message = get(&e, "message").as_string().unwrap();
    assert!(
        message.contains("container metrics of pod sidecar is not running (CrashLoopBackOff)"),
        "{message}"
    );
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

/// The message of an `InvalidOptions` error, or a panic naming what came instead.
fn invalid_options_message(e: &JsValue) -> String {
    assert_eq!(error_code(e), "InvalidOptions", "{}", describe(e));
    get(e, "message").as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_wrong_type_names_the_option_and_what_it_must_be() {
    let object = |pairs: &[(&str, JsValue)]| {
        let o: JsValue = Object::new().into();
        for (k, v) in pairs {
            set(&o, k, v.clone());
        }
        o
    };
    let mixed: JsValue = [JsValue::from("sh"), JsValue::from(1)]
        .iter()
        .collect::<Array>()
        .into();
    let (string, boolean, list) = ("a string", "a boolean", "an array of strings");
    let (size, millis) = ("{ cols, rows } numbers", "a number of milliseconds");
    let cases: Vec<(&str, JsValue, &str)> = vec![
        ("server", 8080.into(), string),
        ("namespace", 7.into(), string),
        ("pod", true.into(), string),
        ("container", strings(&["a"]).into(), string),
        ("token", 42.into(), string),
        ("command", "echo hi".into(), list),
        ("command", mixed.clone(), list),
        ("protocols", "v5.channel.k8s.io".into(), list),
        ("protocols", mixed, list),
        ("stdin", "yes".into(), boolean),
        ("stdout", 1.into(), boolean),
        ("stderr", "false".into(), boolean),
        ("tty", 0.into(), boolean),
        ("allowInsecureToken", "yes".into(), boolean),
        ("preflight", Object::new().into(), boolean),
        ("terminalSize", "80x24".into(), size),
        (
            "terminalSize",
            object(&[("cols", "80".into()), ("rows", 24.into())]),
            size,
        ),
        ("terminalSize", object(&[("cols", 80.into())]), size),
        ("signal", "not a signal".into(), "an AbortSignal"),
        ("signal", Object::new().into(), "an AbortSignal"),
        ("readyTimeout", "1000".into(), millis),
        ("readyTimeout", (-1).into(), millis),
        ("keepalive", f64::NAN.into(), millis),
        ("connectTimeout", f64::INFINITY.into(), millis),
        ("startGrace", "2s".into(), millis),
    ];
    for (option, value, what) in cases {
        let (_, e) = expect_exec_error(&with(sh("true"), option, value.clone())).await;
        assert_eq!(
            invalid_options_message(&e),
            format!("InvalidOptions: `{option}` must be {what}"),
            "{option} = {value:?}"
        );
    }
    // Each function's own rules.
    let not_an_object = exec(&JsValue::from("demo")).await.expect_err("a string");
    assert_eq!(
        invalid_options_message(&not_an_object),
        "InvalidOptions: options must be an object"
    );
    let without_pod = sh("true");
    Reflect::delete_property(without_pod.unchecked_ref::<Object>(), &"pod".into()).unwrap();
    let (_, e) = expect_exec_error(&without_pod).await;
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: `pod` is required"
    );
    let (_, e) = expect_exec_error(&with(sh("true"), "command", JsValue::NULL)).await;
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: `command` is required"
    );
    let e = attach(&with(opts("echo", &[]), "command", "cat"))
        .await
        .expect_err("a command");
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: attach takes no `command`"
    );
    let e = open_shell(&with(shell_opts("demo"), "shells", "bash"))
        .await
        .expect_err("a string");
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: `shells` must be an array of strings"
    );
    let e = open_shell(&with(shell_opts("demo"), "command", "sh"))
        .await
        .expect_err("command");
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: openShell takes `shells`, not `command`"
    );
    let e = get_pod(&with(shell_opts("demo"), "token", 1))
        .await
        .expect_err("a number");
    assert_eq!(
        invalid_options_message(&e),
        "InvalidOptions: `token` must be a string"
    );
}

#[wasm_bindgen_test]
async fn null_and_undefined_options_are_not_given() {
    // Every optional option as null, then as undefined: the defaults hold (stdout read,
    // stderr read apart without a TTY, the preflight on, no timeouts changed).
    for nothing in [JsValue::NULL, JsValue::UNDEFINED] {
        let mut o = sh("echo out; echo err >&2");
        for option in [
            "container",
            "stdin",
            "stdout",
            "stderr",
            "tty",
            "protocols",
            "terminalSize",
            "signal",
            "allowInsecureToken",
            "preflight",
            "readyTimeout",
            "keepalive",
            "connectTimeout",
            "startGrace",
        ] {
            o = with(o, option, nothing.clone());
        }
        let d = run(&o).await;
        assert_eq!(d.out(), "out\n", "{nothing:?}");
        assert_eq!(d.err(), "err\n", "{nothing:?}");
        assert!(d.success());
    }
    // attach takes no `command`, but a `command` of null or undefined is not one.
    for nothing in [JsValue::NULL, JsValue::UNDEFINED] {
        let o = with(opts("echo", &[]), "command", nothing);
        let o = with(with(o, "container", "echo"), "stdin", true);
        let s = match attach(&o).await {
            Ok(s) => s,
            Err(e) => panic!("attach: {}", describe(&e)),
        };
        call(&s, "close", &[]);
    }
}

/// The devserver's port (`server()` is `http://127.0.0.1:PORT`).
fn server_port() -> &'static str {
    server().rsplit(':').next().expect("a port")
}

#[wasm_bindgen_test]
async fn loopback_as_the_browser_reads_it_gets_the_token() {
    // The browser's URL parser makes 127.0.0.1 of each (and the socket connects there): the
    // token goes over plain ws:// without the opt-in, and the session runs.
    for host in ["127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]"] {
        let o = with(
            sh("echo on loopback"),
            "server",
            format!("http://{host}:{}", server_port()),
        );
        let d = match exec(&o).await {
            Ok(s) => drain(&s).await,
            Err(e) => panic!("{host}: {}", describe(&e)),
        };
        assert_eq!(d.out(), "on loopback\n", "{host}");
        assert!(d.success(), "{host}");
    }
}

#[wasm_bindgen_test]
async fn names_that_are_not_loopback_do_not_get_the_token_over_ws() {
    for host in [
        "localhost.evil.com",
        "127.0.0.1.nip.io",
        "example.invalid",
        "10.0.0.1",
        "0.0.0.0",
        "[::2]",
        "[::ffff:10.0.0.1]",
        "[::127.0.0.1]",
        "0x80.1",
    ] {
        let server = format!("http://{host}:{}", server_port());
        let o = with(sh("true"), "server", server.as_str());
        let (code, e) = expect_exec_error(&o).await;
        assert_eq!(code, "InvalidOptions", "{host}: {}", describe(&e));
        let message = get(&e, "message").as_string().unwrap_or_default();
        assert!(message.contains("not loopback"), "{host}: {message}");
    }
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
async fn base64_with_line_breaks_is_a_protocol_error() {
    // fault-bad-base64: stdout "partial\n", on base64 as text with line breaks inside, which
    // the browser's own decoder would skip. The core's decoder rejects them: so must the glue's.
    let (d, ms) = fault("fault-bad-base64", V4_B64, None).await;
    assert_eq!(d.failure(), "ProtocolError");
    assert_eq!(d.out(), "");
    assert!(ms < 5000.0, "{ms} ms");
    let (d, _) = fault("fault-bad-base64", V4, None).await;
    assert_eq!(d.out(), "partial\n");
    assert!(d.success());
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

// ---- the console toolkit: openShell, getPod, record ------------------------------------

fn names(v: &JsValue) -> Vec<String> {
    Array::from(v)
        .iter()
        .map(|s| s.as_string().expect("a string"))
        .collect()
}

fn shell_opts(pod: &str) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "server", server());
    set(&o, "token", token());
    set(&o, "namespace", "default");
    set(&o, "pod", pod);
    o
}

async fn open_shell(o: &JsValue) -> Result<(JsValue, String), JsValue> {
    let r = sdk_open_shell(o.clone().unchecked_into()).await?;
    Ok((get(&r, "session"), get(&r, "shell").as_string().unwrap()))
}

/// Reads the session's stdout until `needle`, then ends the shell with `exit` and drains it.
async fn shell_says(session: &JsValue, input: &str, needle: &str) -> String {
    let r = Reader::new(&get(session, "stdout"));
    let w = Writer::new(&get(session, "stdin"));
    w.write(input.to_string()).await.unwrap();
    let mut out = Vec::new();
    let found = r.until(&mut out, needle).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(found, "never saw {needle:?} in {text:?}");
    w.write("exit\n").await.unwrap();
    let _ = r.all().await;
    wait(get(session, "exit")).await.expect("exit");
    text
}

#[wasm_bindgen_test]
async fn open_shell_starts_bash_where_there_is_one() {
    let t0 = now();
    let (s, shell) = open_shell(&shell_opts("demo")).await.expect("openShell");
    assert_eq!(shell, "bash");
    // Defaults: stdin and a TTY (bash's prompt, read by `$0`).
    shell_says(&s, "echo \"[$0:$-]\"\n", "[bash:").await;
    assert!(now() - t0 < 10_000.0);
}

#[wasm_bindgen_test]
async fn open_shell_falls_back_to_sh_without_waiting_for_a_timeout() {
    for offer in [V5, V4] {
        // A grace of 20 s: resolving well before it shows that "bash: not found" was read from
        // the status, and that sh's prompt (its first output) counted as started.
        let o = protocols(with(shell_opts("nobash"), "startGrace", 20_000), &[offer]);
        let t0 = now();
        let (s, shell) = open_shell(&o).await.expect("openShell");
        let took = now() - t0;
        assert_eq!(shell, "sh", "{offer}");
        assert!(took < 5_000.0, "{offer}: took {took} ms");
        shell_says(
            &s,
            "echo \"[$0]\"; command -v bash || echo no-bash\n",
            "no-bash",
        )
        .await;
    }
}

#[wasm_bindgen_test]
async fn open_shell_without_any_shell_is_no_shell() {
    let o = with(
        shell_opts("nobash"),
        "shells",
        strings(&["bash", "zsh", "/bin/nosuch"]),
    );
    set(&o, "startGrace", 20_000);
    let t0 = now();
    let e = open_shell(&o).await.expect_err("resolved");
    assert!(now() - t0 < 5_000.0, "waited for the grace period");
    assert_eq!(error_code(&e), "NoShell");
    assert_eq!(names(&get(&e, "tried")), ["bash", "zsh", "/bin/nosuch"]);
    let message = get(&e, "message").as_string().unwrap();
    assert!(message.contains("executable file not found"), "{message}");
    assert!(message.contains("no such file or directory"), "{message}");
    let hint = get(&e, "hint").as_string().unwrap();
    assert!(
        hint.contains("distroless") && hint.contains("kubectl debug"),
        "{hint}"
    );
}

#[wasm_bindgen_test]
async fn open_shell_counts_a_silent_shell_as_started_after_the_grace() {
    // `cat` without a TTY prints nothing: it counts as started after startGrace.
    let o = with(
        shell_opts("echo"),
        "shells",
        strings(&["no-such-shell", "cat"]),
    );
    set(&o, "tty", false);
    set(&o, "startGrace", 300);
    let t0 = now();
    let (s, shell) = open_shell(&o).await.expect("openShell");
    let took = now() - t0;
    assert_eq!(shell, "cat");
    assert!((250.0..5_000.0).contains(&took), "took {took} ms");
    let w = Writer::new(&get(&s, "stdin"));
    w.write("meow\n").await.unwrap();
    w.close().await.unwrap();
    let d = drain(&s).await;
    assert_eq!(d.out(), "meow\n");
    assert!(d.success());
}

#[wasm_bindgen_test]
async fn open_shell_errors() {
    // Other failures are exec's: a wrong token, a pod with several containers.
    let e = open_shell(&with(shell_opts("demo"), "token", "wrong"))
        .await
        .expect_err("resolved");
    assert_eq!(error_code(&e), "Unauthorized");
    let e = open_shell(&shell_opts("two")).await.expect_err("resolved");
    assert_eq!(error_code(&e), "ContainerRequired");
    for bad in [
        with(shell_opts("demo"), "shells", strings(&[])),
        with(shell_opts("demo"), "shells", strings(&[""])),
        with(shell_opts("demo"), "command", strings(&["sh"])),
    ] {
        let e = open_shell(&bad).await.expect_err("resolved");
        assert_eq!(error_code(&e), "InvalidOptions");
    }
}

async fn get_pod(o: &JsValue) -> Result<JsValue, JsValue> {
    sdk_get_pod(o.clone().unchecked_into()).await
}

fn container(pod: &JsValue, list: &str, i: u32) -> JsValue {
    Array::from(&get(pod, list)).get(i)
}

#[wasm_bindgen_test]
async fn get_pod_lists_containers_and_the_default_one() {
    let pod = get_pod(&shell_opts("sidecar")).await.expect("getPod");
    assert_eq!(get(&pod, "name").as_string().as_deref(), Some("sidecar"));
    assert_eq!(
        get(&pod, "namespace").as_string().as_deref(),
        Some("default")
    );
    assert_eq!(get(&pod, "phase").as_string().as_deref(), Some("Running"));
    // The annotation names "app", the second container: kubectl's default.
    assert_eq!(
        get(&pod, "defaultContainer").as_string().as_deref(),
        Some("app")
    );
    let cs = Array::from(&get(&pod, "containers"));
    let field = |c: &JsValue, k: &str| get(c, k).as_string().unwrap_or_default();
    let rows: Vec<_> = cs
        .iter()
        .map(|c| {
            (
                field(&c, "name"),
                field(&c, "image"),
                field(&c, "state"),
                get(&c, "ready").as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "proxy".into(),
                "envoyproxy/envoy:v1.30".into(),
                "running".into(),
                true
            ),
            (
                "app".into(),
                "example/shop:7".into(),
                "running".into(),
                true
            ),
            (
                "metrics".into(),
                "example/exporter:1".into(),
                "waiting".into(),
                false
            ),
        ]
    );
    assert_eq!(
        field(&container(&pod, "containers", 2), "reason"),
        "CrashLoopBackOff"
    );
    let no_reason = container(&pod, "containers", 0);
    assert!(
        !Reflect::has(&no_reason, &"reason".into()).unwrap(),
        "reason?: absent"
    );
    assert_eq!(Array::from(&get(&pod, "initContainers")).length(), 0);
    assert_eq!(Array::from(&get(&pod, "ephemeralContainers")).length(), 0);
    // A single-container pod: its container is the default; its spec's stdin and tty.
    let demo = get_pod(&shell_opts("demo")).await.expect("getPod");
    assert_eq!(
        get(&demo, "defaultContainer").as_string().as_deref(),
        Some("shell")
    );
    let shell = container(&demo, "containers", 0);
    assert_eq!(get(&shell, "tty").as_bool(), Some(true));
    assert_eq!(get(&shell, "stdin").as_bool(), Some(true));
}

/// The own property names of `o`, in order.
fn keys(o: &JsValue) -> Vec<String> {
    Object::keys(o.unchecked_ref::<Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect()
}

#[wasm_bindgen_test]
async fn exit_status_and_pod_info_are_the_dts_interfaces() {
    // ExitStatus: `exitCode: number | null`, `reason?` and `message?` absent unless reported.
    let ok = run(&sh("true")).await;
    assert_eq!(keys(ok.status()), ["success", "exitCode"]);
    let failed = run(&sh("exit 3")).await;
    assert_eq!(
        keys(failed.status()),
        ["success", "exitCode", "reason", "message"]
    );
    let not_found = run(&opts("demo", &["/no/such/binary"])).await;
    assert!(get(not_found.status(), "exitCode").is_null());
    // PodInfo and ContainerInfo: plain objects, arrays, `defaultContainer: string | null`.
    let pod = get_pod(&shell_opts("sidecar")).await.expect("getPod");
    assert_eq!(
        keys(&pod),
        [
            "name",
            "namespace",
            "phase",
            "containers",
            "initContainers",
            "ephemeralContainers",
            "defaultContainer"
        ]
    );
    assert!(Array::is_array(&get(&pod, "initContainers")));
    let object_prototype = Object::get_prototype_of(&Object::new());
    let plain = |o: &JsValue| Object::get_prototype_of(o) == object_prototype;
    assert!(plain(&pod));
    let waiting = container(&pod, "containers", 2);
    assert!(plain(&waiting));
    assert_eq!(
        keys(&waiting),
        ["name", "image", "state", "reason", "ready", "stdin", "tty"]
    );
    assert_eq!(get(&waiting, "stdin").as_bool(), Some(false));
}

#[wasm_bindgen_test]
async fn get_pod_errors_are_execs() {
    let e = get_pod(&shell_opts("no-such-pod"))
        .await
        .expect_err("resolved");
    assert_eq!(error_code(&e), "NotFound");
    assert_eq!(get(&e, "httpStatus").as_f64(), Some(404.0));
    let e = get_pod(&with(shell_opts("demo"), "token", "wrong"))
        .await
        .expect_err("resolved");
    assert_eq!(error_code(&e), "Unauthorized");
    let e = get_pod(&with(shell_opts("demo"), "namespace", "Not_A_Name"))
        .await
        .expect_err("resolved");
    assert_eq!(error_code(&e), "InvalidOptions");
    // The token is not sent in clear to a host that is not loopback.
    let e = get_pod(&with(
        shell_opts("demo"),
        "server",
        "http://example.invalid",
    ))
    .await
    .expect_err("resolved");
    assert_eq!(error_code(&e), "InvalidOptions");
    let ctl: JsValue = web_sys::AbortController::new().unwrap().into();
    call(&ctl, "abort", &[]);
    let e = get_pod(&with(shell_opts("demo"), "signal", get(&ctl, "signal")))
        .await
        .expect_err("resolved");
    assert_eq!(error_code(&e), "Aborted");
}

/// Settles with `p`, or rejects with "still pending" after `ms`.
async fn within(p: Promise, ms: i32) -> Result<JsValue, JsValue> {
    let late = Promise::new(&mut |_, reject| {
        let reason = JsValue::from_str("still pending");
        let f = Function::from(get(&js_sys::global(), "setTimeout"));
        let _ = f.call3(&JsValue::UNDEFINED, &reject, &JsValue::from(ms), &reason);
    });
    wait(Promise::race(&[p, late].into_iter().collect::<Array>()).into()).await
}

#[wasm_bindgen_test]
async fn get_pod_aborted_in_flight_is_aborted_whatever_the_reason() {
    // A GET the server never answers, aborted while under way: fetch rejects with the
    // signal's reason as it is, which need not be an Error (`abort("…")`).
    for reason in [None, Some(JsValue::from_str("the user closed the dialog"))] {
        let ctl = web_sys::AbortController::new().unwrap();
        let o = with(shell_opts("demo"), "server", hanging_server());
        set(&o, "signal", ctl.signal());
        let pending = future_to_promise(async move { get_pod(&o).await });
        sleep(300).await;
        match &reason {
            None => ctl.abort(),
            Some(r) => ctl.abort_with_reason(r),
        }
        let e = within(pending, 5_000).await.expect_err("resolved");
        assert_eq!(error_code(&e), "Aborted", "{reason:?}: {}", describe(&e));
    }
}

#[wasm_bindgen(inline_js = r#"
const counts = new Map();
const add = EventTarget.prototype.addEventListener;
const remove = EventTarget.prototype.removeEventListener;
let on = false;
export function countListeners(yes) {
  on = yes;
  counts.clear();
}
export function listenersLeft() {
  let n = 0;
  for (const [target, types] of counts) for (const [type, c] of types) if (c !== 0) n += c;
  return n;
}
export function listenersSeen() {
  return counts.size;
}
function bump(target, type, by) {
  if (!on || !(target instanceof WebSocket || target instanceof AbortSignal)) return;
  if (!counts.has(target)) counts.set(target, new Map());
  const types = counts.get(target);
  types.set(type, (types.get(type) || 0) + by);
}
EventTarget.prototype.addEventListener = function (type, f, o) {
  bump(this, type, 1);
  return add.call(this, type, f, o);
};
EventTarget.prototype.removeEventListener = function (type, f, o) {
  bump(this, type, -1);
  return remove.call(this, type, f, o);
};
"#)]
extern "C" {
    #[wasm_bindgen(js_name = countListeners)]
    fn count_listeners(yes: bool);
    #[wasm_bindgen(js_name = listenersLeft)]
    fn listeners_left() -> u32;
    #[wasm_bindgen(js_name = listenersSeen)]
    fn listeners_seen() -> u32;
}

#[wasm_bindgen_test]
async fn an_ended_session_leaves_no_listener_on_its_socket_or_signal() {
    count_listeners(true);
    // An exit, a failed handshake (with its preflight) and an abort.
    let ctl = web_sys::AbortController::new().unwrap();
    let s = open(&with(sh("echo x"), "signal", ctl.signal())).await;
    assert!(drain(&s).await.success());
    let o = with(with(sh("true"), "token", "wrong"), "signal", ctl.signal());
    assert_eq!(expect_exec_error(&o).await.0, "Unauthorized");
    let ctl2 = web_sys::AbortController::new().unwrap();
    let s = open(&with(sh("sleep 30"), "signal", ctl2.signal())).await;
    ctl2.abort();
    assert!(wait(get(&s, "exit")).await.is_err());
    let (seen, left) = (listeners_seen(), listeners_left());
    count_listeners(false);
    assert!(seen >= 5, "three sockets and two signals, saw {seen}");
    assert_eq!(left, 0, "listeners still attached");
}

/// `session.record(options)` (what `record(session, options)` calls).
fn record(session: &JsValue, options: Option<JsValue>) -> JsValue {
    call(session, "record", &[options.unwrap_or(JsValue::UNDEFINED)])
}

/// The events of an asciicast v2 text: (time, code, data), after checking the header.
fn cast_events(text: &str, width: u32, height: u32) -> Vec<(f64, String, String)> {
    let mut lines = text.lines();
    let header = js_sys::JSON::parse(lines.next().expect("a header")).unwrap();
    assert_eq!(get(&header, "version").as_f64(), Some(2.0));
    assert_eq!(get(&header, "width").as_f64(), Some(f64::from(width)));
    assert_eq!(get(&header, "height").as_f64(), Some(f64::from(height)));
    assert!(get(&header, "timestamp").as_f64().unwrap() > 1.6e9);
    lines
        .map(|l| {
            let e = Array::from(&js_sys::JSON::parse(l).unwrap());
            (
                e.get(0).as_f64().unwrap(),
                e.get(1).as_string().unwrap(),
                e.get(2).as_string().unwrap(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn record_tees_output_resizes_and_input_as_asciicast() {
    let o = with(
        with(with(opts("demo", &["sh"]), "tty", true), "stdin", true),
        "terminalSize",
        size(100, 30),
    );
    let s = open(&o).await;
    let opts: JsValue = Object::new().into();
    set(&opts, "input", true);
    set(&opts, "title", "demo shell");
    let rec = record(&s, Some(opts));
    let r = Reader::new(&get(&s, "stdout"));
    let w = Writer::new(&get(&s, "stdin"));
    let mut out = Vec::new();
    w.write("printf 'h\\303\\251llo-'; sleep 0.2; printf 'w\\303\\266rld\\n'\n")
        .await
        .unwrap();
    assert!(r.until(&mut out, "héllo-wörld").await);
    call(&s, "resize", &[120.into(), 40.into()]);
    w.write("exit 4\n").await.unwrap();
    out.extend(r.all().await);
    wait(get(&s, "exit")).await.expect("exit");
    wait(get(&rec, "done")).await.expect("done");
    let text = call(&rec, "text", &[]).as_string().unwrap();
    let events = cast_events(&text, 100, 30);
    let header = get(&rec, "header");
    assert_eq!(
        get(&header, "title").as_string().as_deref(),
        Some("demo shell")
    );
    // Times never go backwards, and the sleep shows.
    assert!(events.windows(2).all(|w| w[0].0 <= w[1].0), "{events:?}");
    let output: String = events
        .iter()
        .filter(|e| e.1 == "o")
        .map(|e| e.2.as_str())
        .collect();
    // Everything the consumer read, and nothing else, is in the "o" events.
    assert_eq!(output, String::from_utf8_lossy(&out));
    let input: String = events
        .iter()
        .filter(|e| e.1 == "i")
        .map(|e| e.2.as_str())
        .collect();
    assert!(input.starts_with("printf 'h"), "{input:?}");
    assert!(input.ends_with("exit 4\n"), "{input:?}");
    let resizes: Vec<_> = events
        .iter()
        .filter(|e| e.1 == "r")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(resizes, ["120x40"]);
    let first = events.iter().find(|e| e.2.contains("héllo")).unwrap().0;
    let last = events.iter().find(|e| e.2.contains("wörld")).unwrap().0;
    assert!(last - first >= 0.15, "{first} {last}");
}

#[wasm_bindgen_test]
async fn record_keeps_split_utf8_whole_and_does_not_read_for_the_consumer() {
    // One byte per frame; the consumer reads stdout only after the session ended.
    let s = open(&opts("fault-split-utf8", &["x"])).await;
    let rec = record(&s, None);
    let lines = call(&rec, "stream", &[]);
    wait(get(&s, "exit")).await.expect("exit");
    let text = call(&rec, "text", &[]).as_string().unwrap();
    let events = cast_events(&text, 80, 24);
    let output: String = events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(output, "héllo wörld € 𝄞\n");
    assert!(events.iter().all(|e| e.1 == "o"));
    // The consumer still gets every byte.
    let d = drain(&s).await;
    assert_eq!(d.out(), "héllo wörld € 𝄞\n");
    // The stream gave the same lines, and closed with the session.
    let r = call(&lines, "getReader", &[]);
    let mut streamed = String::new();
    loop {
        let chunk = wait(call(&r, "read", &[])).await.unwrap();
        if get(&chunk, "done").is_truthy() {
            break;
        }
        streamed.push_str(&get(&chunk, "value").as_string().unwrap());
    }
    assert_eq!(streamed, text);
    // Recording an ended session: the header only, already done.
    let late = record(&s, None);
    wait(get(&late, "done")).await.expect("done");
    assert_eq!(
        call(&late, "text", &[])
            .as_string()
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[wasm_bindgen_test]
async fn record_stop_ends_the_recording_not_the_session() {
    let s = open(&with(opts("echo", &["cat"]), "stdin", true)).await;
    let rec = record(&s, None);
    let r = Reader::new(&get(&s, "stdout"));
    let w = Writer::new(&get(&s, "stdin"));
    let mut out = Vec::new();
    w.write("one\n").await.unwrap();
    assert!(r.until(&mut out, "one\n").await);
    call(&rec, "stop", &[]);
    wait(get(&rec, "done")).await.expect("done");
    w.write("two\n").await.unwrap();
    assert!(r.until(&mut out, "two\n").await);
    w.close().await.unwrap();
    let _ = r.all().await;
    assert!(get_status_success(
        &wait(get(&s, "exit")).await.expect("exit")
    ));
    let text = call(&rec, "text", &[]).as_string().unwrap();
    let output: String = cast_events(&text, 80, 24)
        .into_iter()
        .map(|e| e.2)
        .collect();
    assert_eq!(output, "one\n");
    // Blob of the same text, typed for asciinema.
    let blob = call(&rec, "blob", &[]);
    assert_eq!(
        get(&blob, "type").as_string().as_deref(),
        Some("application/x-asciicast")
    );
    assert_eq!(get(&blob, "size").as_f64(), Some(text.len() as f64));
}

fn get_status_success(status: &JsValue) -> bool {
    get(status, "success").as_bool().unwrap()
}

// ---- keepalive ---------------------------------------------------------------------------

/// exec on the `--idle-timeout 1` devserver.
fn idle_opts(argv: &[&str], keepalive: Option<u32>) -> JsValue {
    let o = with(opts("demo", argv), "server", idle_server());
    if let Some(ms) = keepalive {
        set(&o, "keepalive", ms);
    }
    o
}

#[wasm_bindgen_test]
async fn keepalive_keeps_a_quiet_session_through_an_idle_limit() {
    let quiet = ["sh", "-c", "sleep 2.5; echo survived"];
    // Off: the server's idle limit (1 s) cuts the quiet session; the SDK says so.
    let d = run(&idle_opts(&quiet, Some(0))).await;
    assert_eq!(d.failure(), "ConnectionLost");
    assert_eq!(d.out(), "");
    // On (every 300 ms of outgoing silence): the same session lives to its end. No stdin was
    // requested: the keepalive is not a stdin frame.
    for offer in [V5, V4, V4_B64, V1_B64] {
        let d = run(&protocols(idle_opts(&quiet, Some(300)), &[offer])).await;
        assert_eq!(d.out(), "survived\n", "{offer}");
        assert!(d.success(), "{offer}");
    }
}

#[wasm_bindgen_test]
async fn keepalive_after_stdin_is_closed_and_without_noise_on_stdin() {
    // stdin requested, written, then closed (v5 CLOSE); the keepalive goes on afterwards and
    // adds nothing to what the process reads.
    let o = with(
        idle_opts(&["sh", "-c", "od -c; sleep 2.5; echo after-eof"], Some(300)),
        "stdin",
        true,
    );
    let s = open(&o).await;
    let w = Writer::new(&get(&s, "stdin"));
    w.write("ab").await.unwrap();
    sleep(1500).await; // several keepalives while stdin is open
    w.close().await.unwrap();
    let d = drain(&s).await;
    assert_eq!(d.out(), "0000000   a   b\n0000002\nafter-eof\n");
    assert!(d.success());
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        call(
            &js_sys::global(),
            "setTimeout",
            &[resolve.into(), JsValue::from(ms)],
        );
    });
    let _ = JsFuture::from(p).await;
}
