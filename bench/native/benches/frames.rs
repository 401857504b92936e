//! The core's frame decode/encode throughput, next to `memcpy` of the same bytes.
//!
//! Every benchmark in a group handles the same stream: `TOTAL` bytes of stdout payload cut into
//! frames of one size (64 KiB, 4 KiB, 1 byte). Throughput is counted in payload bytes.
//! `memcpy` copies each frame's payload into a reused buffer: what handling a frame would cost
//! if it had to copy. `decode_binary` borrows (no copy), so it may run far above `memcpy`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kube_exec_wasm::channel::Channel;
use kube_exec_wasm::frame::{
    decode_base64_into, decode_binary, encode_base64, encode_binary, Frame,
};

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
                    if let Ok(Some(Frame::Data { channel: Channel::Stdout, payload })) =
                        decode_binary(black_box(m))
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

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = frames }
criterion_main!(benches);
