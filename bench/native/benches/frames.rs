//! The core's frame decode/encode throughput, next to `memcpy` of the same bytes.
//!
//! Every benchmark in a group handles the same stream: `TOTAL` bytes of stdout payload cut into
//! frames of one size (64 KiB, 4 KiB, 1 byte). Throughput is counted in payload bytes.
//! `memcpy` copies each frame's payload into a reused buffer: what handling a frame would cost
//! if it had to copy. `decode_binary` borrows (no copy), so it may run far above `memcpy`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use kube_exec_wasm::channel::Channel;
use kube_exec_wasm::frame::{
    decode_base64_into, decode_binary, encode_base64, encode_binary, Frame,
};
use kube_exec_wasm::protocol::Protocol;
use kube_exec_wasm::session::{Event, MessageKind, Route, Session, SessionConfig, Transmit};

const TOTAL: usize = 4 << 20;

fn payloads(frame: usize) -> Vec<Vec<u8>> {
    let count = TOTAL / frame;
    let mut at = 0usize;
    (0..count)
        .map(|_| {
            let p: Vec<u8> = (0..frame).map(|i| ((at + i) % 251) as u8).collect();
            at += frame;
            p
        })
        .collect()
}

fn frames(c: &mut Criterion) {
    for (label, frame) in [("64 KiB", 64 << 10), ("4 KiB", 4 << 10), ("1 B", 1)] {
        let total = if frame == 1 { TOTAL / 16 } else { TOTAL };
        let pays: Vec<Vec<u8>> = payloads(frame).into_iter().take(total / frame).collect();
        let bin: Vec<Vec<u8>> = pays
            .iter()
            .map(|p| {
                let mut m = Vec::new();
                encode_binary(Channel::Stdout, p, &mut m);
                m
            })
            .collect();
        let text: Vec<String> = pays
            .iter()
            .map(|p| {
                let mut m = String::new();
                encode_base64(Channel::Stdout, p, &mut m);
                m
            })
            .collect();

        let mut g = c.benchmark_group(format!("frames {label}"));
        g.throughput(Throughput::Bytes(total as u64));

        g.bench_function(BenchmarkId::from_parameter("memcpy"), |b| {
            let mut out = vec![0u8; frame];
            b.iter(|| {
                for m in &bin {
                    out.copy_from_slice(&m[1..]);
                    black_box(&out);
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("decode_binary"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for m in &bin {
                    if let Ok(Some(Frame::Data {
                        channel: Channel::Stdout,
                        payload,
                    })) = decode_binary(black_box(m))
                    {
                        n += black_box(payload).len();
                    }
                }
                assert_eq!(n, total);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("encode_binary"), |b| {
            let mut out = Vec::with_capacity(frame + 1);
            b.iter(|| {
                for p in &pays {
                    out.clear();
                    encode_binary(Channel::Stdin, black_box(p), &mut out);
                    black_box(&out);
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("decode_base64"), |b| {
            let mut out = Vec::with_capacity(frame);
            b.iter(|| {
                for m in &text {
                    out.clear();
                    let ch = decode_base64_into(black_box(m), &mut out);
                    assert!(matches!(ch, Ok(Some(Channel::Stdout))));
                    black_box(&out);
                }
            })
        });
        g.bench_function(BenchmarkId::from_parameter("encode_base64"), |b| {
            let mut out = String::with_capacity(frame * 4 / 3 + 8);
            b.iter(|| {
                for p in &pays {
                    out.clear();
                    encode_base64(Channel::Stdin, black_box(p), &mut out);
                    black_box(&out);
                }
            })
        });
        g.finish();
    }
}

/// The session's per-message cost as the browser glue pays it: `route` (numbers only: the
/// payload stays in JS), and `handle_binary` + `poll_event` (the payload copied into the core and
/// out as an `Event::Output`), per 4 KiB stdout message.
fn session(c: &mut Criterion) {
    const MESSAGES: u64 = 4096;
    let open = || {
        let mut s = Session::new(SessionConfig::default());
        s.handle_open("v5.channel.k8s.io", 0.0);
        while s.poll_event().is_some() {}
        while s.poll_transmit().is_some() {}
        s
    };
    let mut msg = Vec::new();
    encode_binary(Channel::Stdout, &[0x61; 4096], &mut msg);
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Elements(MESSAGES));
    g.bench_function(BenchmarkId::from_parameter("route"), |b| {
        let mut s = open();
        b.iter(|| {
            for _ in 0..MESSAGES {
                let r = s.route(MessageKind::Binary, black_box(1), black_box(msg.len()), 0.0);
                assert_eq!(r, Route::Stdout);
            }
        })
    });
    g.bench_function(
        BenchmarkId::from_parameter("handle_binary+poll_event"),
        |b| {
            let mut s = open();
            b.iter(|| {
                for _ in 0..MESSAGES {
                    s.handle_binary(black_box(&msg), 0.0);
                    match s.poll_event() {
                        Some(Event::Output { data, .. }) => {
                            black_box(data);
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            })
        },
    );
    g.finish();
}

/// Stdin written before the socket opens, one byte per write (a paste into a terminal that is
/// still connecting, fed by keystroke): `n` writes queued, then the open that sends them. The
/// figure is writes per second. The pending queue is bounded at 1 MiB (the default
/// `max_pending_bytes`), so the largest case is the most a caller can queue.
fn stdin_before_open(c: &mut Criterion) {
    let mut g = c.benchmark_group("stdin before open");
    // Each iteration is one whole session: equal iteration counts per sample, the fewest
    // samples criterion allows.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    for n in [1usize << 10, 1 << 16, 1 << 20] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let mut s = Session::new(SessionConfig {
                    offer: vec![Protocol::V5],
                    stdin: true,
                    ..SessionConfig::default()
                });
                for _ in 0..n {
                    s.send_stdin(black_box(b"x"), 0.0).expect("queued");
                }
                s.handle_open("v5.channel.k8s.io", 0.0);
                let mut bytes = 0;
                while let Some(t) = s.poll_transmit() {
                    if let Transmit::Binary(f) = t {
                        bytes += f.len() - 1;
                    }
                }
                assert_eq!(bytes, n);
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = frames, session, stdin_before_open }
criterion_main!(benches);
