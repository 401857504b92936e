//! A bounded random-input run of the fuzz targets' bodies on stable (cargo-fuzz needs
//! nightly): the committed seeds, then seeded-random mutations of them and random bytes.
//! Deterministic (fixed RNG seeds), so a failure reproduces; `CORE_FUZZ_ITERS` scales it.

#[path = "../fuzz/src/driver.rs"]
mod driver;

use kube_exec_wasm::{ErrorCode, Event, ExitStatus};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

macro_rules! seeds {
    ($target:literal: $($name:literal),*) => {
        &[$((concat!($target, "/", $name), include_bytes!(concat!("../fuzz/seeds/", $target, "/", $name)) as &[u8])),*]
    };
}

const FRAME_SEEDS: &[(&str, &[u8])] = seeds!("frame_decoder": "stdout", "readiness", "close_stdin",
    "unknown_channel", "status", "resize", "base64_stdin", "base64_bad");
const STATUS_SEEDS: &[(&str, &[u8])] = seeds!("status_parser": "success.json", "exit42.json",
    "internal.json", "truncated.json", "resize.json", "escapes.json");
const SESSION_SEEDS: &[(&str, &[u8])] = seeds!("session": "v5_exit0", "v4_exit42", "v4_lost",
    "base64", "v1_success", "malformed", "stall", "tty_resize", "status_no_close");
const TAR_SEEDS: &[(&str, &[u8])] = seeds!("tar_parser": "gnu.tar", "pax.tar", "dotdot.tar",
    "absolute.tar", "symlink_root.tar", "symlink_then_file.tar", "device.tar");

/// xorshift64*: small, deterministic, the same on every target.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A seed with a few random edits (flip, insert, delete, splice, interesting byte).
    fn mutate(&mut self, seeds: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = seeds[self.below(seeds.len())].1.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(v.len() + 1);
            match self.below(5) {
                0 if !v.is_empty() => {
                    let i = at.min(v.len() - 1);
                    v[i] ^= 1 << self.below(8)
                }
                1 => v.insert(at, self.next() as u8),
                2 if at < v.len() => {
                    v.remove(at);
                }
                3 => {
                    let other = seeds[self.below(seeds.len())].1;
                    let from = self.below(other.len() + 1);
                    v.splice(at..at, other[from..].iter().copied());
                }
                _ => {
                    let i = at.min(v.len());
                    let b = [0u8, 1, 3, 255, b'"', b'{', b'}', b'\\', b'3', 0x80][self.below(10)];
                    v.insert(i, b)
                }
            }
        }
        v
    }
}

/// Random inputs per target: 200 000 natively (CORE_FUZZ_ITERS overrides), 5 000 in wasm.
fn iterations() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("CORE_FUZZ_ITERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200_000)
    }
    #[cfg(target_arch = "wasm32")]
    {
        5_000
    }
}

fn smoke(name: &str, seed: u64, seeds: &[(&str, &[u8])], run: impl Fn(&[u8])) {
    for (_, s) in seeds {
        run(s);
    }
    let n = iterations();
    let mut rng = Rng(seed);
    for i in 0..n {
        let input = if i % 4 == 0 {
            rng.bytes(64)
        } else {
            rng.mutate(seeds)
        };
        run(&input);
    }
    // Printed for the test log (cargo test -- --nocapture shows it).
    println!(
        "fuzz smoke {name}: {} seeds + {n} random inputs",
        seeds.len()
    );
}

#[test]
fn frame_decoder_smoke() {
    smoke(
        "frame_decoder",
        0x9e37_79b9_7f4a_7c15,
        FRAME_SEEDS,
        driver::frame_decoder,
    );
}

#[test]
fn status_parser_smoke() {
    smoke(
        "status_parser",
        0xd1b5_4a32_d192_ed03,
        STATUS_SEEDS,
        driver::status_parser,
    );
}

#[test]
fn session_smoke() {
    smoke("session", 0x8cb9_2ba7_2f3d_8dd7, SESSION_SEEDS, |d| {
        let _ = driver::session(d);
    });
}

/// The session seeds are real sessions: each ends as its name says.
#[test]
fn session_seeds_end_as_named() {
    let end = |name: &str| {
        let (_, data) = SESSION_SEEDS
            .iter()
            .find(|(n, _)| n.ends_with(name))
            .unwrap();
        driver::session(data)
    };
    let failed = |name: &str| match end(name) {
        Some(Event::Failed(e)) => e.code(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(end("v5_exit0"), Some(Event::Exited(ExitStatus::Success)));
    assert!(matches!(end("v4_exit42"), Some(Event::Exited(s)) if s.exit_code() == Some(42)));
    assert_eq!(end("base64"), Some(Event::Exited(ExitStatus::Success)));
    assert_eq!(end("v1_success"), Some(Event::Exited(ExitStatus::Success)));
    assert_eq!(end("tty_resize"), Some(Event::Exited(ExitStatus::Success)));
    assert_eq!(failed("v4_lost"), ErrorCode::ConnectionLost);
    assert_eq!(failed("malformed"), ErrorCode::ProtocolError);
    assert_eq!(failed("stall"), ErrorCode::Timeout);
    // A status, then the server never closes: the close wait ends it with the status.
    assert_eq!(
        end("status_no_close"),
        Some(Event::Exited(ExitStatus::Success))
    );
}

#[test]
fn tar_parser_smoke() {
    smoke(
        "tar_parser",
        0x2545_f491_4f6c_dd1d,
        TAR_SEEDS,
        driver::tar_parser,
    );
}

/// The malicious seeds are refused, naming the entry, and only the safe entries before it
/// come out.
#[test]
fn tar_seeds_refuse_what_they_should() {
    use kube_exec_wasm::archive::Parser;
    let parse = |name: &str| {
        let (_, data) = TAR_SEEDS.iter().find(|(n, _)| n.ends_with(name)).unwrap();
        let mut p = Parser::new();
        let mut paths = Vec::new();
        let mut rest: &[u8] = data;
        let end = loop {
            match p.push(rest) {
                Ok((n, _)) => rest = &rest[n..],
                Err(e) => break Err(e),
            }
            paths.extend(std::iter::from_fn(|| p.poll_entry()).map(|e| e.path));
            if rest.is_empty() {
                break p.finish();
            }
        };
        (paths, end.map_err(|e| (e.code(), e.message().to_string())))
    };
    let refused = |msg: &str| Err((ErrorCode::UnsafeEntry, msg.to_string()));
    assert_eq!(parse("gnu.tar").1, Ok(()));
    assert_eq!(parse("gnu.tar").0.len(), 10);
    assert_eq!(parse("pax.tar").0, parse("gnu.tar").0);
    assert_eq!(
        parse("dotdot.tar"),
        (
            vec!["safe/ok.txt".to_string()],
            refused("refused entry \"../x\": `..` leads out of the tree")
        )
    );
    assert_eq!(
        parse("absolute.tar"),
        (
            vec!["safe/ok.txt".to_string()],
            refused("refused entry \"/etc/x\": absolute path")
        )
    );
    assert_eq!(
        parse("symlink_root.tar"),
        (
            vec!["safe/ok.txt".to_string()],
            refused("refused entry \"evil\": symbolic link to an absolute path")
        )
    );
    assert_eq!(
        parse("symlink_then_file.tar"),
        (
            vec!["safe".to_string(), "safe/in".to_string()],
            refused("refused entry \"safe/in/x\": it lies under the symbolic link \"safe/in\"")
        )
    );
    assert_eq!(
        parse("device.tar"),
        (vec![], refused("refused entry \"dev/null\": device file"))
    );
}
