//! Reading the small files the flags name (policies, calendars, targets,
//! role directories): one bounded reader, so that no such file is read
//! whole whatever its size. A module of its own, below `report` and
//! `roles`, which both read such files.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

/// A text file of at most `max_bytes` (a policy, a calendar, a role
/// directory: anything larger is the wrong file, and is not read whole; a
/// device such as /dev/zero is never read to the end). The bytes are read
/// first and decoded after the size check, so that a file too large is
/// refused as too large even when the cut splits a character. A UTF-8
/// byte order mark at the start (Windows editors write one) is dropped, as
/// `import` drops one: JSON has no place for it.
pub(crate) fn read_small(path: &Path, max_bytes: usize, what: &str) -> Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() > max_bytes {
        return Err(anyhow!(
            "invalid {what} {}: larger than {max_bytes} bytes",
            path.display()
        ));
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes)
        .with_context(|| format!("cannot read {what} {}: not UTF-8 text", path.display()))
}
