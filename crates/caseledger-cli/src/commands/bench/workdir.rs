//! `bench`'s working directory, `--dir`. Every run removes and rebuilds
//! what bench keeps there (stores, exports, scratch files), so bench works
//! only in a directory it made itself, known by a marker file: a directory
//! holding anything else (someone's files, a store) is refused before
//! anything in it is touched, and in its own directory bench removes only
//! the paths it names.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::exit::UsageError;

/// The file that marks a directory bench made.
pub(super) const MARKER: &str = ".caseledger-bench";

/// What the marker says, for whoever finds it.
const MARKER_TEXT: &str = "This directory was made by `caseledger bench`, which removes and \
                           rebuilds here, on every run, the paths it names (replay-*, export-*, \
                           import, bulk, append-*, fdatasync-baseline) and \
                           leaves anything else alone.\n";

/// What [`check`] found `--dir` to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// Bench's own: it holds the marker.
    Marked,
    /// Not there, or empty: [`mark`] makes it bench's.
    New,
}

/// Makes `dir` bench's working directory ([`check`], then [`mark`] a new
/// one).
pub(super) fn claim(dir: &Path) -> Result<()> {
    match check(dir)? {
        Found::Marked => Ok(()),
        Found::New => mark(dir),
    }
}

/// Whether `dir` may be bench's working directory, touching nothing: one
/// that holds the marker is bench's already, a new or empty one may be
/// made so. Anything else is refused (a usage error): a directory bench
/// did not make (its files would be removed or overwritten), or a store
/// directory.
pub(super) fn check(dir: &Path) -> Result<Found> {
    let refuse = |why: String| -> anyhow::Error {
        UsageError(format!("bench --dir {}: {why}", dir.display())).into()
    };
    let mut names = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.with_context(|| {
                    format!("bench: cannot read the directory {}", dir.display())
                })?;
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(refuse("is not a directory".into()));
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("bench: cannot read the directory {}", dir.display()));
        }
    }
    // Said first: of a store's own directory, "not empty" would undersell.
    if names.iter().any(|n| {
        n == caseledger_store::CHECKPOINT_FILE || caseledger_store::parse_segment_name(n).is_some()
    }) {
        return Err(refuse(
            "is a caseledger store directory (it holds a checkpoint or segment files); bench \
             builds and measures stores of its own in --dir and never works in a store: give \
             a new or empty directory"
                .into(),
        ));
    }
    if names.iter().any(|n| n == MARKER) {
        // Bench's own only if the marker is the file `mark` writes: a
        // regular file (not a link, not a directory) holding exactly its
        // text. Any file of that name would otherwise hand a directory,
        // a home directory say, to bench's removals.
        let path = dir.join(MARKER);
        let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if is_file && std::fs::read(&path).is_ok_and(|text| text == MARKER_TEXT.as_bytes()) {
            return Ok(Found::Marked);
        }
        return Err(refuse(format!(
            "holds a {MARKER} that bench did not write (not a regular file with bench's \
             text); bench works only in a directory it made: give a new or empty directory"
        )));
    }
    if !names.is_empty() {
        names.sort();
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more = match names.len() - shown.len() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        return Err(refuse(format!(
            "is not empty ({}{more}) and bench did not make it (no {MARKER} file); bench \
             removes and rebuilds what it keeps in --dir, so it works only in a directory it \
             made: give a new or empty directory (an older bench's directory, without the \
             marker, can be removed)",
            shown.join(", ")
        )));
    }
    Ok(Found::New)
}

/// Makes `dir` (new or empty, as [`check`] found it) bench's: creates it
/// and writes the marker.
pub(super) fn mark(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("bench: cannot create the directory {}", dir.display()))?;
    let path = dir.join(MARKER);
    // `create_new`: a file of that name that appeared since the check above
    // is not overwritten.
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(MARKER_TEXT.as_bytes())?;
        f.sync_all()
    };
    write().with_context(|| format!("bench: cannot write {}", path.display()))
}

/// Writes `text` to `path` whole: to a temporary file beside it, synced,
/// renamed over `path`, the directory synced; a crash leaves the old file
/// or none, never a part.
pub(super) fn write_whole(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced.
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)?.sync_all()
    };
    write().with_context(|| format!("bench: cannot write {}", path.display()))
}
