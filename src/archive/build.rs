//! The builder for uploads: GNU-format headers (the `tar` crate's [`Header`]) with `L`/`K`
//! long-name entries for paths and link targets over 100 bytes and base-256 sizes from 8 GiB,
//! so that the archive's exact length is known before a body byte is read.
//!
//! The bodies are not the builder's business: for entry `i` the caller sends
//! [`Builder::head`] (the previous body's padding and this entry's header blocks), then the
//! body's `size` bytes from wherever they are, and after the last entry [`Builder::tail`]
//! (padding and the end-of-archive marker). The sum is [`Builder::len`], byte for byte.

use tar::{EntryType, Header};

use super::parse::BLOCK;
use super::path;
use crate::error::{Error, ErrorCode};

/// The end-of-archive marker: two zero blocks.
pub const END_OF_ARCHIVE: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// What an uploaded entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecKind {
    /// A file whose body, sent by the caller, has exactly `size` bytes.
    File {
        /// Body length.
        size: u64,
    },
    /// A directory.
    Directory,
    /// A symbolic link to `target` (which must stay inside the tree).
    Symlink {
        /// The link's target, relative to its directory.
        target: String,
    },
    /// A hard link to an earlier entry of the archive.
    HardLink {
        /// The earlier entry's path.
        target: String,
    },
}

/// One entry to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Relative path under the destination directory.
    pub path: String,
    /// What it is.
    pub kind: SpecKind,
    /// Permission bits (masked to `0o7777`).
    pub mode: u32,
    /// Modification time, seconds since the epoch (the upload runs `tar -m`, so the
    /// extracted files get the time of extraction; kept for the archive's own sake).
    pub mtime: u64,
}

impl Spec {
    fn size(&self) -> u64 {
        match self.kind {
            SpecKind::File { size } => size,
            _ => 0,
        }
    }
}

fn invalid(path: &str, why: &str) -> Error {
    Error::new(
        ErrorCode::InvalidOptions,
        format!("cannot upload {}: {why}", path::quote(path)),
    )
}

/// The bytes of padding after a body of `size` bytes.
pub fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Blocks a GNU long-name entry for `value` takes (header + data + padding), 0 when it fits
/// the 100-byte field.
fn long_name_len(value: &str) -> u64 {
    if value.len() <= 100 {
        0
    } else {
        let data = value.len() as u64 + 1;
        BLOCK as u64 + data + padding(data)
    }
}

/// Appends a GNU long-name (`L`) or long-link (`K`) entry carrying `value`.
fn encode_long(kind: EntryType, value: &str, out: &mut Vec<u8>) {
    let mut h = Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(kind);
    h.set_mode(0o644);
    let data = value.len() as u64 + 1; // NUL-terminated, as GNU tar writes it
    h.set_size(data);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(value.as_bytes());
    out.resize(out.len() + 1 + padding(data) as usize, 0);
}

/// A field that must hold `value`: the value when it fits, else its first 100 bytes (the
/// long-name entry before it carries the whole value).
fn fitted(value: &str) -> &[u8] {
    &value.as_bytes()[..value.len().min(100)]
}

/// The name written for an entry: directories end with `/`, as GNU tar writes them.
fn name(spec: &Spec) -> std::borrow::Cow<'_, str> {
    match spec.kind {
        SpecKind::Directory => format!("{}/", spec.path).into(),
        _ => spec.path.as_str().into(),
    }
}

/// Appends the header blocks of one entry (long-name entries first where needed).
fn encode_header(spec: &Spec, out: &mut Vec<u8>) {
    let path = name(spec);
    if path.len() > 100 {
        encode_long(EntryType::GNULongName, &path, out);
    }
    if let SpecKind::Symlink { target } | SpecKind::HardLink { target } = &spec.kind {
        if target.len() > 100 {
            encode_long(EntryType::GNULongLink, target, out);
        }
    }
    let mut h = Header::new_gnu();
    let name = fitted(&path);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    let (ty, mode) = match &spec.kind {
        SpecKind::File { .. } => (EntryType::Regular, spec.mode),
        SpecKind::Directory => (EntryType::Directory, spec.mode),
        SpecKind::Symlink { target } | SpecKind::HardLink { target } => {
            let t = fitted(target);
            h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
            match spec.kind {
                SpecKind::Symlink { .. } => (EntryType::Symlink, 0o777),
                _ => (EntryType::Link, spec.mode),
            }
        }
    };
    h.set_entry_type(ty);
    h.set_mode(mode & 0o7777);
    h.set_size(spec.size());
    h.set_mtime(spec.mtime);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
}

/// The header bytes of one entry.
fn header_len(spec: &Spec) -> u64 {
    let link = match &spec.kind {
        SpecKind::Symlink { target } | SpecKind::HardLink { target } => long_name_len(target),
        _ => 0,
    };
    long_name_len(&name(spec)) + link + BLOCK as u64
}

/// An upload archive, planned in full before a byte is sent (see the module docs).
#[derive(Clone, Debug)]
pub struct Builder {
    specs: Vec<Spec>,
    len: u64,
}

impl Builder {
    /// Checks every entry and plans the archive. Paths are normalised (`./a//b/` → `a/b`);
    /// refused with `InvalidOptions`: empty or absolute paths, `..` that leads out, NUL
    /// bytes, the same path twice, symbolic links that lead out of the tree, and hard links
    /// to anything but an earlier entry.
    pub fn new(specs: Vec<Spec>) -> Result<Builder, Error> {
        let mut given = Vec::with_capacity(specs.len());
        let mut checked = Vec::with_capacity(specs.len());
        let mut len = END_OF_ARCHIVE.len() as u64;
        for mut spec in specs {
            if spec.path.contains('\0') {
                return Err(invalid(&spec.path, "the path contains a NUL byte"));
            }
            let path = path::normalize(&spec.path).map_err(|why| invalid(&spec.path, why))?;
            if path.is_empty() {
                return Err(invalid(&spec.path, "an empty path"));
            }
            match &mut spec.kind {
                SpecKind::Symlink { target } => {
                    if target.contains('\0') {
                        return Err(invalid(&spec.path, "the link target contains a NUL byte"));
                    }
                    path::check_symlink(&path, target).map_err(|why| invalid(&spec.path, why))?;
                }
                SpecKind::HardLink { target } => {
                    *target =
                        path::check_hardlink(target).map_err(|why| invalid(&spec.path, why))?;
                }
                _ => {}
            }
            let size = spec.size();
            len = len
                .checked_add(header_len(&spec) + size + padding(size))
                .ok_or_else(|| invalid(&spec.path, "the archive would exceed 2^64 bytes"))?;
            given.push(core::mem::replace(&mut spec.path, path));
            checked.push(spec);
        }
        // Each path once; hard links only to an earlier entry (sorted, not a set: less wasm).
        let mut order: Vec<(&str, usize)> = checked
            .iter()
            .enumerate()
            .map(|(i, s)| (s.path.as_str(), i))
            .collect();
        order.sort_unstable();
        if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(invalid(&given[w[0].1.max(w[1].1)], "the same path twice"));
        }
        for (i, spec) in checked.iter().enumerate() {
            if let SpecKind::HardLink { target } = &spec.kind {
                let before = order
                    .binary_search_by(|(p, _)| (*p).cmp(target.as_str()))
                    .is_ok_and(|at| order[at].1 < i);
                if !before {
                    return Err(invalid(&given[i], "hard link to a path not before it"));
                }
            }
        }
        Ok(Builder {
            specs: checked,
            len,
        })
    }

    /// The archive's exact length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the archive has no entries (it is then just the end marker).
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The checked entries, in order (paths normalised).
    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    /// Appends what goes before entry `i`'s body: the previous body's padding and this
    /// entry's header blocks. Nothing for an `i` out of range.
    pub fn head(&self, i: usize, out: &mut Vec<u8>) {
        let Some(spec) = self.specs.get(i) else {
            return;
        };
        if let Some(prev) = i.checked_sub(1).and_then(|p| self.specs.get(p)) {
            out.resize(out.len() + padding(prev.size()) as usize, 0);
        }
        encode_header(spec, out);
    }

    /// Appends what follows the last body: its padding and the end-of-archive marker.
    pub fn tail(&self, out: &mut Vec<u8>) {
        if let Some(last) = self.specs.last() {
            out.resize(out.len() + padding(last.size()) as usize, 0);
        }
        out.extend_from_slice(&END_OF_ARCHIVE);
    }

    /// The whole archive with these bodies (one per file, in order; tests and native use).
    /// A body of the wrong length is `InvalidOptions`.
    pub fn to_bytes(&self, bodies: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut files = bodies.iter();
        for (i, spec) in self.specs.iter().enumerate() {
            self.head(i, &mut out);
            if let SpecKind::File { size } = spec.kind {
                match files.next() {
                    Some(b) if b.len() as u64 == size => out.extend_from_slice(b),
                    _ => {
                        return Err(invalid(
                            &spec.path,
                            "its body is missing or not `size` bytes",
                        ))
                    }
                }
            }
        }
        self.tail(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Entry, EntryKind, Parser};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn file(path: &str, size: u64) -> Spec {
        Spec {
            path: path.into(),
            kind: SpecKind::File { size },
            mode: 0o640,
            mtime: 1_700_000_000,
        }
    }

    #[test]
    fn literal_header() {
        let b = Builder::new(vec![file("./a//hi.txt", 3)]).unwrap();
        assert_eq!(b.len(), 512 + 512 + 1024);
        let mut head = Vec::new();
        b.head(0, &mut head);
        assert_eq!(head.len(), 512);
        assert_eq!(&head[..9], b"a/hi.txt\0", "normalised name");
        assert_eq!(&head[100..108], b"0000640\0");
        assert_eq!(&head[124..136], b"00000000003\0");
        assert_eq!(&head[136..148], b"14524770400\0");
        assert_eq!(head[156], b'0');
        assert_eq!(&head[257..265], b"ustar  \0", "GNU magic");
        let sum: u32 = head
            .iter()
            .enumerate()
            .map(|(i, x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*x)
                }
            })
            .sum();
        assert_eq!(&head[148..156], format!("{sum:07o}\0").as_bytes());
        let mut tail = Vec::new();
        b.tail(&mut tail);
        assert_eq!(tail, [0u8; 509 + 1024]);
        assert_eq!(b.to_bytes(&[b"abc"]).unwrap().len() as u64, b.len());
    }

    #[test]
    fn long_names_and_links() {
        let deep = format!("{}/{}", "d".repeat(200), "f".repeat(150));
        let target = "t".repeat(130);
        let specs = vec![
            file(&deep, 0),
            Spec {
                path: "l".into(),
                kind: SpecKind::Symlink {
                    target: target.clone(),
                },
                mode: 0,
                mtime: 0,
            },
            Spec {
                path: "dir/".into(),
                kind: SpecKind::Directory,
                mode: 0o755,
                mtime: 0,
            },
        ];
        let b = Builder::new(specs).unwrap();
        let bytes = b.to_bytes(&[b""]).unwrap();
        assert_eq!(bytes.len() as u64, b.len());
        assert_eq!(&bytes[..13], b"././@LongLink");
        assert_eq!(bytes[156], b'L');
        let mut p = Parser::new();
        let mut at = 0;
        let mut got: Vec<Entry> = Vec::new();
        while at < bytes.len() {
            at += p.push(&bytes[at..]).unwrap().0;
            got.extend(std::iter::from_fn(|| p.poll_entry()));
        }
        p.finish().unwrap();
        let kinds: Vec<_> = got.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (deep.as_str(), EntryKind::File),
                ("l", EntryKind::Symlink),
                ("dir", EntryKind::Directory)
            ]
        );
        assert_eq!(got[1].link_target.as_deref(), Some(target.as_str()));
        assert_eq!(got[2].mode, 0o755);
    }

    #[test]
    fn sizes_over_8_gib_use_base_256() {
        let size = 9u64 << 30;
        let b = Builder::new(vec![file("big", size)]).unwrap();
        let mut head = Vec::new();
        b.head(0, &mut head);
        assert_eq!(head[124], 0x80);
        assert_eq!(&head[128..136], &size.to_be_bytes());
        assert_eq!(b.len(), 512 + size + 1024);
        let mut p = Parser::new();
        p.feed(&head).unwrap();
        assert_eq!(p.want(), Ok(crate::archive::Want::Body(size)));
    }

    macro_rules! refusals {
        ($($name:ident: $specs:expr => $message:expr;)*) => {$(
            #[test]
            fn $name() {
                let e = Builder::new($specs).unwrap_err();
                assert_eq!(e.code(), ErrorCode::InvalidOptions);
                assert_eq!(e.message(), $message);
            }
        )*};
    }

    refusals! {
        refuses_absolute: vec![file("/etc/passwd", 0)] => "cannot upload \"/etc/passwd\": absolute path";
        refuses_dotdot: vec![file("a/../../x", 0)] => "cannot upload \"a/../../x\": `..` leads out of the tree";
        refuses_empty: vec![file("./", 0)] => "cannot upload \"./\": an empty path";
        refuses_nul: vec![file("a\0b", 0)] => "cannot upload \"a\\0b\": the path contains a NUL byte";
        refuses_twice: vec![file("a", 0), file("./a", 1)] => "cannot upload \"./a\": the same path twice";
        refuses_hardlink_forward: vec![Spec { path: "h".into(), kind: SpecKind::HardLink { target: "a".into() }, mode: 0, mtime: 0 }, file("a", 0)]
            => "cannot upload \"h\": hard link to a path not before it";
        refuses_link_out: vec![Spec { path: "l".into(), kind: SpecKind::Symlink { target: "/".into() }, mode: 0, mtime: 0 }]
            => "cannot upload \"l\": symbolic link to an absolute path";
    }

    #[test]
    fn wrong_body_length() {
        let b = Builder::new(vec![file("a", 2)]).unwrap();
        assert_eq!(
            b.to_bytes(&[b"abc"]).unwrap_err().message(),
            "cannot upload \"a\": its body is missing or not `size` bytes"
        );
    }
}
