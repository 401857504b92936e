//! The push parser: archive bytes in, entries out, bodies left where they are.
//!
//! The parser never holds a body. It says what it wants next ([`Parser::want`]): metadata
//! bytes (header blocks, GNU long names, PAX records), which the caller feeds with
//! [`Parser::feed`]; or a run of body or padding bytes, which the caller passes on (or drops)
//! itself and reports with [`Parser::advance`]. So the browser glue hands body bytes to the
//! consumer as views of the received frames, and only the 512-byte headers enter wasm memory.
//!
//! ```text
//!            feed (512 B)                 advance            advance
//!  Header ──────────────▶ entry queued ──▶ Body(size) ──────▶ Skip(padding) ──▶ Header
//!    │  └─ L / K / x ──▶ Meta(size) ──feed──▶ Skip(padding) ──▶ Header
//!    └─ zero block ──▶ Done (everything after it is ignored)
//! ```
//!
//! Every entry passes the safety rules of [`super::path`] before it is queued: an unsafe one
//! fails the parser with `UnsafeEntry` naming it, and nothing of it is yielded. Errors latch.

use tar::{EntryType, Header, PaxExtensions};

use super::path::{self, quote, Refusal};
use crate::error::{Error, ErrorCode};

/// The tar block size.
pub const BLOCK: usize = 512;
/// The longest GNU long name, long link or PAX header accepted (1 MiB).
pub const MAX_META: u64 = 1 << 20;

/// What an entry is. Devices and FIFOs are refused; other types are a `BadArchive`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file; its body follows.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (`link_target` relative to the link's directory, inside the tree).
    Symlink,
    /// A hard link to an earlier entry (`link_target` a normalised path in the tree).
    HardLink,
}

impl EntryKind {
    /// The JavaScript name: `"file"`, `"directory"`, `"symlink"`, `"link"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Directory => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::HardLink => "link",
        }
    }
}

/// One entry of the archive, checked by the safety rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The normalised path (no leading `./`, no trailing `/`, no `..`). Non-UTF-8 bytes are
    /// replaced by U+FFFD.
    pub path: String,
    /// The entry's type.
    pub kind: EntryKind,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Body length in bytes (0 for everything but files).
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// For links: where they point.
    pub link_target: Option<String>,
}

/// What the parser wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Up to this many metadata bytes, through [`Parser::feed`].
    Meta(usize),
    /// This many bytes of the last queued entry's body: pass them on, then
    /// [`Parser::advance`].
    Body(u64),
    /// This many bytes to drop (padding, ignored data): [`Parser::advance`].
    Skip(u64),
    /// The end-of-archive marker was seen; what follows is ignored (`feed` takes it all).
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    LongName,
    LongLink,
    Pax,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Collecting a header block in `buf`.
    Header,
    /// Collecting `size` bytes of an extension in `buf`.
    Meta {
        kind: Meta,
        size: usize,
    },
    /// `left` bytes of a body, then `pad` bytes of padding.
    Body {
        left: u64,
        pad: u64,
    },
    /// `left` bytes to drop.
    Skip {
        left: u64,
    },
    Done,
}

/// Values from GNU long-name entries and PAX headers for the next entry.
#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<u64>,
}

/// The push parser (see the module docs).
pub struct Parser {
    state: State,
    buf: Vec<u8>,
    pending: Pending,
    /// Normalised paths of the symbolic links seen, sorted: nothing may be yielded under
    /// them.
    symlinks: Vec<String>,
    /// The entry of the last header, until taken (`feed` stops after each).
    entry: Option<Entry>,
    error: Option<Error>,
    /// Bytes taken so far (for messages).
    offset: u64,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

fn bad(message: String) -> Error {
    Error::new(ErrorCode::BadArchive, message)
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == 0).next().unwrap_or_default()
}

impl Parser {
    /// A parser at the start of an archive.
    pub fn new() -> Parser {
        Parser {
            state: State::Header,
            buf: Vec::with_capacity(BLOCK),
            pending: Pending::default(),
            symlinks: Vec::new(),
            entry: None,
            error: None,
            offset: 0,
        }
    }

    /// What the parser wants next (after a failure: the failure, from every call).
    pub fn want(&self) -> Result<Want, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(match self.state {
            State::Header => Want::Meta(BLOCK - self.buf.len()),
            State::Meta { size, .. } => Want::Meta(size - self.buf.len()),
            State::Body { left, .. } => Want::Body(left),
            State::Skip { left } => Want::Skip(left),
            State::Done => Want::Done,
        })
    }

    /// The next entry, in archive order. After an entry of kind `File`, [`Parser::want`]
    /// gives its body.
    pub fn poll_entry(&mut self) -> Option<Entry> {
        self.entry.take()
    }

    /// Whether the end-of-archive marker was seen.
    pub fn is_done(&self) -> bool {
        self.error.is_none() && self.state == State::Done
    }

    /// Takes metadata bytes from the start of `input`; returns how many it took. Takes none
    /// while it wants body or skip bytes, and all of them after the end marker. Stops after
    /// a header that queued an entry, so that the entry is taken before a later error.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, Error> {
        let mut used = 0;
        while used < input.len() {
            self.want()?;
            let need = match self.state {
                State::Header => BLOCK - self.buf.len(),
                State::Meta { size, .. } => size - self.buf.len(),
                State::Done => {
                    used = input.len();
                    break;
                }
                State::Body { .. } | State::Skip { .. } => break,
            };
            let take = need.min(input.len() - used);
            self.buf.extend_from_slice(&input[used..used + take]);
            used += take;
            if take == need {
                if let Err(e) = self.complete() {
                    self.error = Some(e.clone());
                    return Err(e);
                }
                if self.entry.is_some() {
                    break; // the caller takes the entry before anything after it
                }
            }
        }
        self.offset += used as u64;
        Ok(used)
    }

    /// Reports `n` body or skip bytes passed on (or dropped) by the caller.
    pub fn advance(&mut self, n: u64) -> Result<(), Error> {
        self.want()?;
        self.offset += n;
        self.state = match self.state {
            State::Body { left, pad } if n <= left => match left - n {
                0 => Self::skip(pad),
                left => State::Body { left, pad },
            },
            State::Skip { left } if n <= left => Self::skip(left - n),
            _ if n == 0 => return Ok(()),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidOptions,
                    "advance beyond the body or skip run the parser wants",
                ))
            }
        };
        Ok(())
    }

    /// The convenience for native callers: takes bytes from the start of `input` and returns
    /// how many it took and, when they were body bytes, the slice of them.
    pub fn push<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<&'a [u8]>), Error> {
        match self.want()? {
            Want::Body(left) | Want::Skip(left) => {
                let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let body = matches!(self.state, State::Body { .. }).then(|| &input[..n]);
                self.advance(n as u64)?;
                Ok((n, body))
            }
            Want::Meta(_) | Want::Done => Ok((self.feed(input)?, None)),
        }
    }

    /// The input ended: `Ok` at the end marker (or, as GNU tar allows, at a header boundary);
    /// otherwise `BadArchive` (truncated).
    pub fn finish(&mut self) -> Result<(), Error> {
        let what = match self.want()? {
            Want::Done => return Ok(()),
            Want::Meta(BLOCK) if self.state == State::Header => return Ok(()),
            Want::Meta(_) => "a header",
            Want::Body(_) => "an entry's body",
            Want::Skip(_) => "padding",
        };
        let e = bad(format!(
            "the archive ends inside {what} (after {} bytes)",
            self.offset
        ));
        self.error = Some(e.clone());
        Err(e)
    }

    fn is_symlink(&self, path: &str) -> bool {
        self.symlinks
            .binary_search_by(|l| l.as_str().cmp(path))
            .is_ok()
    }

    fn skip(left: u64) -> State {
        if left == 0 {
            State::Header
        } else {
            State::Skip { left }
        }
    }

    /// A header block or an extension's data is complete in `buf`.
    fn complete(&mut self) -> Result<(), Error> {
        let buf = std::mem::take(&mut self.buf);
        let result = match self.state {
            State::Header => self.on_header(&buf),
            State::Meta { kind, size } => {
                self.on_meta(kind, &buf)?;
                self.state = Self::skip(padding(size as u64));
                Ok(())
            }
            _ => Ok(()),
        };
        self.buf = buf;
        self.buf.clear();
        result
    }

    fn on_meta(&mut self, kind: Meta, data: &[u8]) -> Result<(), Error> {
        match kind {
            Meta::LongName => self.pending.path = Some(until_nul(data).to_vec()),
            Meta::LongLink => self.pending.link = Some(until_nul(data).to_vec()),
            Meta::Pax => {
                for ext in PaxExtensions::new(data) {
                    let ext = ext.map_err(|_| bad("a malformed PAX record".into()))?;
                    let number = |v: &[u8]| {
                        // mtime may carry a fraction; negative times become 0.
                        let v = v.split(|b| *b == b'.').next().unwrap_or_default();
                        core::str::from_utf8(v)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .map(|n| n.max(0) as u64)
                            .ok_or_else(|| bad("a malformed number in a PAX record".into()))
                    };
                    match ext.key_bytes() {
                        b"path" => self.pending.path = Some(ext.value_bytes().to_vec()),
                        b"linkpath" => self.pending.link = Some(ext.value_bytes().to_vec()),
                        b"size" => self.pending.size = Some(number(ext.value_bytes())?),
                        b"mtime" => self.pending.mtime = Some(number(ext.value_bytes())?),
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn on_header(&mut self, block: &[u8]) -> Result<(), Error> {
        if block.iter().all(|b| *b == 0) {
            self.state = State::Done;
            return Ok(());
        }
        let header = Header::from_byte_slice(block);
        let stored = header
            .cksum()
            .map_err(|_| bad(format!("an unreadable header at byte {}", self.offset)))?;
        let sum: u32 = block
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        if sum != stored {
            return Err(bad(format!(
                "a header with a bad checksum at byte {}",
                self.offset
            )));
        }
        let ty = header.entry_type();
        let meta = match ty {
            EntryType::GNULongName => Some(Meta::LongName),
            EntryType::GNULongLink => Some(Meta::LongLink),
            EntryType::XHeader => Some(Meta::Pax),
            _ => None,
        };
        if let Some(kind) = meta {
            // An extension's own size is its header's, never a pending PAX size.
            let size = header.entry_size().map_err(|_| {
                bad(format!(
                    "an unreadable size in the header at byte {}",
                    self.offset
                ))
            })?;
            if size > MAX_META {
                return Err(bad(format!(
                    "an extended header of {size} bytes (over 1 MiB)"
                )));
            }
            self.state = State::Meta {
                kind,
                size: size as usize,
            };
            return Ok(());
        }
        if ty == EntryType::XGlobalHeader {
            // Global PAX records apply to no entry in particular: skipped, pending kept.
            let size = header.entry_size().unwrap_or(0);
            self.state = Self::skip(size.saturating_add(padding(size)));
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let raw_path = pending
            .path
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let name = String::from_utf8_lossy(&raw_path).into_owned();
        let number = |r: std::io::Result<u64>, what: &str| {
            r.map_err(|_| {
                bad(format!(
                    "an unreadable {what} in the header of {}",
                    quote(&name)
                ))
            })
        };
        let size = match pending.size {
            Some(s) => s,
            None => number(header.entry_size(), "size")?,
        };
        let kind = match ty {
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Directory,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::HardLink,
            EntryType::Char | EntryType::Block => return Err(unsafe_entry(&name, "device file")),
            EntryType::Fifo => return Err(unsafe_entry(&name, "named pipe (FIFO)")),
            other => {
                return Err(bad(format!(
                    "entry {} has the unsupported type '{}'",
                    quote(&name),
                    char::from(other.as_byte())
                )))
            }
        };
        let path = path::normalize(&name).map_err(|r| unsafe_entry(&name, r))?;
        if let Some(link) = path::ancestors(&path).find(|a| self.is_symlink(a)) {
            return Err(Error::new(
                ErrorCode::UnsafeEntry,
                format!(
                    "refused entry {}: it lies under the symbolic link {}",
                    quote(&name),
                    quote(link)
                ),
            ));
        }
        let raw_link = pending
            .link
            .unwrap_or_else(|| header.link_name_bytes().unwrap_or_default().into_owned());
        let raw_link = String::from_utf8_lossy(&raw_link).into_owned();
        let link_target = match kind {
            EntryKind::Symlink => {
                path::check_symlink(&path, &raw_link).map_err(|r| unsafe_entry(&name, r))?;
                Some(raw_link)
            }
            EntryKind::HardLink => {
                let target = path::check_hardlink(&raw_link).map_err(|r| unsafe_entry(&name, r))?;
                let through = core::iter::once(target.as_str())
                    .chain(path::ancestors(&target))
                    .any(|a| self.is_symlink(a));
                if through {
                    return Err(unsafe_entry(&name, "hard link through a symbolic link"));
                }
                Some(target)
            }
            _ => None,
        };
        if path.is_empty() {
            if kind == EntryKind::Directory {
                // The top of the tree itself (`./`): nothing to yield.
                self.state = Self::skip(size.saturating_add(padding(size)));
                return Ok(());
            }
            return Err(unsafe_entry(&name, "an empty path"));
        }
        let mode = number(header.mode().map(u64::from), "mode")? as u32 & 0o7777;
        let mtime = match pending.mtime {
            Some(t) => t,
            None => number(header.mtime(), "mtime")?,
        };
        if kind == EntryKind::Symlink {
            if let Err(at) = self.symlinks.binary_search(&path) {
                self.symlinks.insert(at, path.clone());
            }
        }
        self.state = if kind == EntryKind::File {
            State::Body {
                left: size,
                pad: padding(size),
            }
        } else {
            // Data on a directory or a link is not part of what is yielded.
            Self::skip(size.saturating_add(padding(size)))
        };
        if self.state == (State::Body { left: 0, pad: 0 }) {
            self.state = State::Header;
        }
        self.entry = Some(Entry {
            path,
            kind,
            mode,
            size: if kind == EntryKind::File { size } else { 0 },
            mtime,
            link_target,
        });
        Ok(())
    }
}

fn unsafe_entry(name: &str, why: Refusal) -> Error {
    Error::new(
        ErrorCode::UnsafeEntry,
        format!("refused entry {}: {why}", quote(name)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const GNU: &[u8] = include_bytes!("../../fuzz/seeds/tar_parser/gnu.tar");
    const PAX: &[u8] = include_bytes!("../../fuzz/seeds/tar_parser/pax.tar");

    /// A ustar header block written field by field (independent of the `tar` crate).
    fn block(name: &[u8], typeflag: u8, size: u64, link: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK];
        b[..name.len()].copy_from_slice(name);
        b[100..108].copy_from_slice(b"0000644\0");
        b[108..116].copy_from_slice(b"0000000\0");
        b[116..124].copy_from_slice(b"0000000\0");
        b[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        b[136..148].copy_from_slice(b"14544676615\0"); // 1704164749
        b[156] = typeflag;
        b[157..157 + link.len()].copy_from_slice(link);
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        seal(&mut b);
        b
    }

    /// Writes the checksum field.
    fn seal(b: &mut [u8]) {
        b[148..156].fill(b' ');
        let sum: u32 = b.iter().map(|x| u32::from(*x)).sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    fn archive(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(p);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.resize(out.len() + 2 * BLOCK, 0);
        out
    }

    type Parsed = Vec<(Entry, Vec<u8>)>;

    /// Parses `bytes` fed in pieces of `piece` bytes: the entries with their bodies, and the
    /// error if one came (with what was yielded before it).
    fn parse(bytes: &[u8], piece: usize) -> (Parsed, Option<Error>) {
        let mut p = Parser::new();
        let mut out: Parsed = Vec::new();
        for mut chunk in bytes.chunks(piece) {
            while !chunk.is_empty() {
                match p.push(chunk) {
                    Ok((n, body)) => {
                        if let Some(b) = body {
                            out.last_mut().expect("a body follows an entry").1.extend(b);
                        }
                        chunk = &chunk[n..];
                    }
                    Err(e) => return (out, Some(e)),
                }
                while let Some(e) = p.poll_entry() {
                    out.push((e, Vec::new()));
                }
            }
        }
        let end = p.finish().err();
        (out, end)
    }

    fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            mode: 0o644,
            size,
            mtime: 1704164749,
            link_target: None,
        }
    }

    #[test]
    fn literal_file() {
        let bytes = archive(&[&block(b"./hello.txt", b'0', 3, b""), b"hi\n"]);
        assert_eq!(bytes.len(), 4 * BLOCK);
        let (entries, error) = parse(&bytes, usize::MAX);
        assert_eq!(error, None);
        assert_eq!(entries, vec![(file("hello.txt", 3), b"hi\n".to_vec())]);
    }

    #[test]
    fn wants_step_by_step() {
        let bytes = archive(&[&block(b"a", b'0', 3, b""), b"abc"]);
        let mut p = Parser::new();
        assert_eq!(p.want(), Ok(Want::Meta(512)));
        assert_eq!(p.feed(&bytes[..100]), Ok(100));
        assert_eq!(p.want(), Ok(Want::Meta(412)));
        assert_eq!(p.feed(&bytes[100..]), Ok(412), "stops at the body");
        assert_eq!(p.poll_entry().map(|e| e.size), Some(3));
        assert_eq!(p.want(), Ok(Want::Body(3)));
        assert_eq!(p.feed(&bytes[512..]), Ok(0), "feed takes no body bytes");
        p.advance(2).unwrap();
        assert_eq!(p.want(), Ok(Want::Body(1)));
        p.advance(1).unwrap();
        assert_eq!(p.want(), Ok(Want::Skip(509)));
        assert_eq!(
            p.advance(510).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        p.advance(509).unwrap();
        assert_eq!(p.want(), Ok(Want::Meta(512)));
        assert_eq!(p.feed(&bytes[1024..]), Ok(1024));
        assert_eq!(p.want(), Ok(Want::Done));
        assert_eq!(
            p.feed(&[1, 2, 3]),
            Ok(3),
            "after the end, everything is taken"
        );
        assert!(p.is_done());
        assert_eq!(p.finish(), Ok(()));
    }

    fn check_tree(entries: &Parsed) {
        let summary: Vec<(&str, EntryKind, u32, u64, Option<&str>)> = entries
            .iter()
            .map(|(e, _)| {
                (
                    e.path.as_str(),
                    e.kind,
                    e.mode,
                    e.size,
                    e.link_target.as_deref(),
                )
            })
            .collect();
        let long = format!("tree/{}", "n".repeat(120));
        assert_eq!(
            summary,
            vec![
                ("tree", EntryKind::Directory, 0o755, 0, None),
                ("tree/empty", EntryKind::Directory, 0o755, 0, None),
                ("tree/grüße ✓.txt", EntryKind::File, 0o644, 3, None),
                ("tree/hard", EntryKind::File, 0o600, 6, None),
                (
                    "tree/hello.txt",
                    EntryKind::HardLink,
                    0o600,
                    0,
                    Some("tree/hard")
                ),
                (long.as_str(), EntryKind::File, 0o644, 5, None),
                ("tree/sub", EntryKind::Directory, 0o750, 0, None),
                ("tree/sub/big.txt", EntryKind::File, 0o644, 700, None),
                ("tree/sub/empty.txt", EntryKind::File, 0o644, 0, None),
                (
                    "tree/sub/link",
                    EntryKind::Symlink,
                    0o777,
                    0,
                    Some("../hello.txt")
                ),
            ]
        );
        let body = |p: &str| &entries.iter().find(|(e, _)| e.path == p).unwrap().1;
        assert_eq!(body("tree/grüße ✓.txt"), "ü\n".as_bytes());
        assert_eq!(body("tree/hard"), b"hello\n");
        assert_eq!(body(&long), b"long\n");
        assert_eq!(body("tree/sub/big.txt"), &vec![b'x'; 700]);
        assert!(entries.iter().all(|(e, _)| e.mtime == 1704164645));
    }

    #[test]
    fn gnu_tar_output_with_long_names_and_links() {
        for piece in [1, 7, 511, 512, 513, 4096, usize::MAX] {
            let (entries, error) = parse(GNU, piece);
            assert_eq!(error, None, "piece {piece}");
            check_tree(&entries);
        }
    }

    #[test]
    fn pax_tar_output() {
        let (entries, error) = parse(PAX, 100);
        assert_eq!(error, None);
        check_tree(&entries);
    }

    fn refused(bytes: &[u8]) -> (Vec<String>, Error) {
        let (entries, error) = parse(bytes, 333);
        let paths = entries.into_iter().map(|(e, _)| e.path).collect();
        (paths, error.expect("refused"))
    }

    macro_rules! unsafe_cases {
        ($($name:ident: [$($part:expr),*] => $yielded:expr, $message:expr;)*) => {$(
            #[test]
            fn $name() {
                let ok = block(b"ok", b'0', 0, b"");
                let (yielded, e) = refused(&archive(&[&ok, $($part),*]));
                assert_eq!(e.code(), ErrorCode::UnsafeEntry);
                assert_eq!(e.message(), $message);
                assert_eq!(yielded, $yielded as &[&str]);
            }
        )*};
    }

    unsafe_cases! {
        dotdot: [&block(b"../x", b'0', 1, b""), b"!"] => &["ok"], "refused entry \"../x\": `..` leads out of the tree";
        dotdot_inside: [&block(b"a/b/../../../x", b'0', 0, b"")] => &["ok"], "refused entry \"a/b/../../../x\": `..` leads out of the tree";
        absolute: [&block(b"/etc/x", b'0', 1, b""), b"!"] => &["ok"], "refused entry \"/etc/x\": absolute path";
        symlink_to_root: [&block(b"evil", b'2', 0, b"/"), &block(b"evil/etc/x", b'0', 0, b"")] => &["ok"], "refused entry \"evil\": symbolic link to an absolute path";
        symlink_out: [&block(b"d/up", b'2', 0, b"../../x")] => &["ok"], "refused entry \"d/up\": symbolic link that leads out of the tree";
        file_under_symlink: [&block(b"in", b'2', 0, b"ok"), &block(b"in/x", b'0', 0, b"")] => &["ok", "in"], "refused entry \"in/x\": it lies under the symbolic link \"in\"";
        hardlink_out: [&block(b"h", b'1', 0, b"../etc/passwd")] => &["ok"], "refused entry \"h\": hard link that leads out of the tree";
        hardlink_through_symlink: [&block(b"s", b'2', 0, b"."), &block(b"h", b'1', 0, b"s/ok")] => &["ok", "s"], "refused entry \"h\": hard link through a symbolic link";
        char_device: [&block(b"dev/null", b'3', 0, b"")] => &["ok"], "refused entry \"dev/null\": device file";
        block_device: [&block(b"sda", b'4', 0, b"")] => &["ok"], "refused entry \"sda\": device file";
        fifo: [&block(b"p", b'6', 0, b"")] => &["ok"], "refused entry \"p\": named pipe (FIFO)";
        empty_file_name: [&block(b"./", b'0', 0, b"")] => &["ok"], "refused entry \"./\": an empty path";
    }

    #[test]
    fn unsafe_long_name_is_named_whole() {
        let name = format!("{}/../../../etc/passwd", "a".repeat(120));
        let long = block(b"././@LongLink", b'L', name.len() as u64 + 1, b"");
        let mut data = name.clone().into_bytes();
        data.push(0);
        let (yielded, e) = refused(&archive(&[&long, &data, &block(b"trunc", b'0', 0, b"")]));
        assert!(yielded.is_empty());
        assert_eq!(
            e.message(),
            format!("refused entry {name:?}: `..` leads out of the tree")
        );
    }

    #[test]
    fn the_top_directory_is_not_yielded() {
        let (entries, error) = parse(&archive(&[&block(b"./", b'5', 0, b"")]), 512);
        assert_eq!((entries.len(), error), (0, None));
    }

    #[test]
    fn bad_checksum() {
        let mut b = block(b"x", b'0', 0, b"");
        b[0] = b'y';
        let (_, e) = parse(&archive(&[&b]), 512);
        let e = e.unwrap();
        assert_eq!(e.code(), ErrorCode::BadArchive);
        assert_eq!(e.message(), "a header with a bad checksum at byte 0");
    }

    #[test]
    fn truncated_body() {
        let bytes = archive(&[&block(b"x", b'0', 700, b""), &[7; 700]]);
        let (entries, e) = parse(&bytes[..1000], 64);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].1.len(), 488);
        assert_eq!(
            e.unwrap().message(),
            "the archive ends inside an entry's body (after 1000 bytes)"
        );
    }

    #[test]
    fn truncated_header_and_lenient_end() {
        let bytes = archive(&[&block(b"x", b'0', 0, b"")]);
        assert_eq!(
            parse(&bytes[..300], 64).1.unwrap().code(),
            ErrorCode::BadArchive
        );
        // No end marker, but the input ends at a header boundary: accepted, as GNU tar does.
        assert_eq!(parse(&bytes[..512], 64).1, None);
    }

    #[test]
    fn sparse_files_are_not_taken() {
        let (_, e) = parse(&archive(&[&block(b"s", b'S', 0, b"")]), 512);
        assert_eq!(
            e.unwrap().message(),
            "entry \"s\" has the unsupported type 'S'"
        );
    }

    #[test]
    fn errors_latch() {
        let mut p = Parser::new();
        let mut b = block(b"x", b'0', 0, b"");
        b[10] = 1;
        let e = p.feed(&b).unwrap_err();
        assert_eq!(p.want(), Err(e.clone()));
        assert_eq!(p.feed(&[0; 512]), Err(e.clone()));
        assert_eq!(p.finish(), Err(e));
    }

    #[test]
    fn sizes_over_8_gib() {
        // base-256 in the size field (GNU), as the builder writes it.
        let mut b = block(b"big", b'0', 0, b"");
        let size: u64 = 9 << 30;
        b[124] = 0x80;
        b[125..128].fill(0);
        b[128..136].copy_from_slice(&size.to_be_bytes());
        seal(&mut b);
        let mut p = Parser::new();
        p.feed(&b).unwrap();
        assert_eq!(p.poll_entry().unwrap().size, size);
        assert_eq!(p.want(), Ok(Want::Body(size)));
        // A PAX size record overrides the field.
        let record = b"23 size=10737418240000\n";
        let pax = block(b"PaxHeaders/big", b'x', record.len() as u64, b"");
        let mut p = Parser::new();
        let mut bytes = archive(&[&pax, record]);
        bytes.truncate(1024);
        bytes.extend_from_slice(&block(b"big", b'0', 0, b""));
        let (n, _) = p.push(&bytes).unwrap();
        assert_eq!(n, 512 + 23, "the header and its record");
        assert_eq!(p.want(), Ok(Want::Skip(512 - 23)));
        p.advance(512 - 23).unwrap();
        p.feed(&bytes[1024..]).unwrap();
        assert_eq!(p.want(), Ok(Want::Body(10_737_418_240_000)));
    }

    #[test]
    fn oversized_extension() {
        let (_, e) = parse(&archive(&[&block(b"x", b'L', MAX_META + 1, b"")]), 512);
        assert_eq!(
            e.unwrap().message(),
            "an extended header of 1048577 bytes (over 1 MiB)"
        );
    }

    #[test]
    fn malformed_pax_record() {
        let rec = b"99 path=x\n";
        let pax = block(b"p", b'x', rec.len() as u64, b"");
        let (_, e) = parse(&archive(&[&pax, rec, &block(b"x", b'0', 0, b"")]), 512);
        assert_eq!(e.unwrap().message(), "a malformed PAX record");
    }
}
