//! Writing output: whole texts to stdout, counts of things, what a write
//! error means (a reader that went away ends the command quietly), and
//! whole files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::exit::{BrokenPipe, UsageError};

/// `n` and the noun, plural unless `n` is 1: "1 segment", "2 segments".
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Converts a write error on stdout.
pub fn out_err(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(BrokenPipe)
    } else {
        anyhow::Error::new(e).context("cannot write to standard output")
    }
}

/// Writes all of `text` to stdout.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(out_err)?;
    out.flush().map_err(out_err)
}

/// The end of a command that prints its findings and then gives a verdict
/// on them (`verify`'s problem, `--strict`'s permission findings): the
/// verdict once the output was `written`. A reader that went away (a
/// broken pipe) ends the output quietly, but never turns a failing
/// verdict into success: `caseledger verify --format json | head -c 0`
/// on a damaged store exits 1, as without the pipe. Another write error
/// is the command's failure (status 1 either way).
pub fn verdict_after(written: Result<()>, verdict: Result<()>) -> Result<()> {
    match written {
        Err(e) if e.downcast_ref::<BrokenPipe>().is_none() => Err(e),
        Ok(()) | Err(_) => verdict,
    }
}

/// Writes the summary of work already durable (committed events, applied
/// calls) to standard output. A failure must not read as if nothing was
/// done: its error says what was recorded (`recorded()`, such as
/// "imported 5 events (recorded; head position 9 hash …)") before why the
/// summary was not written. A reader that went away (a broken pipe) is not
/// worth a message and stays one.
pub fn write_after_commit(text: &str, recorded: impl FnOnce() -> String) -> Result<()> {
    write_stdout(text).map_err(|e| {
        if e.downcast_ref::<BrokenPipe>().is_some() {
            return e;
        }
        anyhow::anyhow!("{} but the summary could not be written: {e:#}", recorded())
    })
}

/// Writes `text` to the file `path` whole or not at all: into a temporary
/// file beside it, synced, then renamed over it, so that a reader (or a
/// mail program attaching it) never sees half a report, and an error leaves
/// the old file as it was. `store` is the store directory the command
/// reads, if it has one (see [`check_output_path`]).
pub fn write_file(path: &Path, text: &str, store: Option<&Path>) -> Result<()> {
    check_output_path(path, "--output", store)?;
    let tmp = temporary_beside(path, "--output")?;
    remove_stale_temporaries(path);
    let write = || -> std::io::Result<()> {
        let mut f = create_temporary(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        remove_temporary(&tmp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}

/// Checks, before anything is written, that a command may put a file at
/// `path` (given with the option `flag`, named in the error) by renaming a
/// temporary one over it; every command that writes a file checks here.
///
/// The path must not be inside `store`, the store directory the command
/// works on: the rename would replace the store's own files (a segment, the
/// checkpoint) with the output, or put a file among them, and a failed
/// import that created the store would remove it with the store.
///
/// And it must hold a regular file or nothing: a rename replaces whatever
/// is there, not what it points to, so a symbolic link, a FIFO or a device
/// (`/dev/null`, `/dev/stdout` for a command run as root) would be replaced
/// by a plain file.
pub fn check_output_path(path: &Path, flag: &str, store: Option<&Path>) -> Result<()> {
    if let Some(store) = store {
        check_outside_store(path, flag, store)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) => {
            let what = if m.file_type().is_symlink() {
                "a symbolic link"
            } else if m.is_dir() {
                "a directory"
            } else {
                "not a regular file (a FIFO, socket or device)"
            };
            Err(anyhow::Error::new(UsageError(format!(
                "{flag} {}: {what}; the file is written whole and renamed into place, which would \
                 replace it: give the path of a regular file, or of none yet",
                path.display()
            ))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot check {}", path.display()))),
    }
}

/// Refuses `path` when it is the directory `store` or inside it,
/// with the links of both resolved: `S/seg-00000001.cls`, `S/../S/x` and a
/// link to S followed by `/checkpoint` all are.
fn check_outside_store(path: &Path, flag: &str, store: &Path) -> Result<()> {
    let cannot = |e: std::io::Error, p: &Path| {
        anyhow::Error::new(e).context(format!(
            "{flag} {}: cannot check {}",
            path.display(),
            p.display()
        ))
    };
    // The file itself is not resolved: a rename replaces a link, not what
    // it points to (and a link is refused after this check).
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => (parent, Some(name)),
        // `.`, `..`, `/`: a directory, resolved whole.
        _ => (path, None),
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let mut resolved_path = resolved(parent).map_err(|e| cannot(e, parent))?;
    if let Some(name) = name {
        resolved_path.push(name);
    }
    let resolved_store = resolved(store).map_err(|e| cannot(e, store))?;
    if resolved_path.starts_with(&resolved_store) {
        return Err(anyhow::Error::new(UsageError(format!(
            "{flag} {}: inside the store directory {}; the file would replace the store's own \
             files or sit among them: give a path outside the store",
            path.display(),
            store.display()
        ))));
    }
    Ok(())
}

/// `path` absolute, with its symbolic links resolved as far as it exists:
/// its nearest existing ancestor canonicalized, then the missing rest with
/// `..` taken as the parent (a directory a command creates is no link).
fn resolved(path: &Path) -> std::io::Result<std::path::PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path)?;
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    let mut base = loop {
        match existing.canonicalize() {
            Ok(base) => break base,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(last)) =
                    (existing.parent(), existing.components().next_back())
                else {
                    return Err(e);
                };
                missing.push(last);
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    };
    for component in missing.into_iter().rev() {
        match component {
            Component::ParentDir => {
                base.pop();
            }
            Component::Normal(name) => base.push(name),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(base)
}

/// The temporary file this process writes beside `path` before renaming it
/// over `path`: `.NAME.PID.tmp`, NAME being `path`'s file name. The one
/// rule for that name: [`remove_stale_temporaries`] reads it back. `flag`
/// names the option that gave `path`, for the error of a path without a
/// file name.
pub fn temporary_beside(path: &Path, flag: &str) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        UsageError(format!(
            "{flag} {}: not a file name (it ends in `..` or is a root)",
            path.display()
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// Removes the temporary files beside `path` that earlier runs left when
/// they were killed (SIGKILL, a crash, a power cut) between creating one
/// and renaming it over `path`: each `.NAME.PID.tmp` ([`temporary_beside`])
/// of another process id whose process is gone (no `/proc/PID`, where
/// `/proc` is mounted) and that no process holds locked (a run holds its
/// own locked from its creation: [`create_temporary`]). So a run of another
/// PID namespace sharing the directory, whose PID this one cannot see, keeps
/// its file. Nothing else is touched, and a failure is ignored: a stale
/// temporary costs only space, and this run's output does not depend on it.
pub fn remove_stale_temporaries(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_encoded_bytes());
    prefix.push(b'.');
    let procfs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let pid = file_name
            .as_encoded_bytes()
            .strip_prefix(prefix.as_slice())
            .and_then(|rest| rest.strip_suffix(b".tmp"))
            .filter(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid == std::process::id() || (procfs && Path::new(&format!("/proc/{pid}")).exists()) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        // Not through a link put there since the listing said a file.
        let Ok(file) = open_not_following(&entry.path()) else {
            continue;
        };
        // Held while it is removed: a live writer's lock refuses this one.
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates the temporary file `tmp` anew, for writing: never through a link
/// and never into a file that is there (`O_EXCL`). What holds its name (a
/// file left by a process of the same id, or a link planted there) is
/// removed first, not followed. The file is locked (an exclusive `flock`,
/// released when it is closed or the process ends), so that
/// [`remove_stale_temporaries`] of another run leaves it alone.
pub fn create_temporary(tmp: &Path) -> std::io::Result<std::fs::File> {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
    };
    let file = match create() {
        // A file of this name held locked is a live run's: one of another
        // PID namespace with this same process id writing the same file
        // (as two containers whose commands both run as PID 1 may).
        // Removing it would let that run rename this run's half-written
        // file over the output, and report it written.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && held_by_another(tmp) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ResourceBusy,
                format!(
                    "{} is held by another process writing the same file (of this process id, \
                     in another PID namespace); run again once it is done",
                    tmp.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(tmp)?;
            create()
        }
        other => other,
    }?;
    // New, under this process's name: only the cleaner of a run that cannot
    // see this PID (another PID namespace) and read the name just now can
    // hold it, and it is about to remove it: fail now, before anything is
    // written, rather than lose the file later.
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "another process holds the new temporary file locked; run again",
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    hold_for_a_test(tmp);
    Ok(file)
}

/// Opens `path` to read, without following a link planted under its name
/// (`O_NOFOLLOW`: a link is an error), without waiting on a FIFO
/// (`O_NONBLOCK`) and without taking a terminal put there as this
/// process's (`O_NOCTTY`).
fn open_not_following(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Whether another open file holds `tmp` locked, as [`create_temporary`]
/// locks its file while it lives: a live run's temporary file. A link, or
/// what cannot be opened or locked, is no one's.
fn held_by_another(tmp: &Path) -> bool {
    open_not_following(tmp)
        .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// Removes this run's temporary file `tmp` ([`temporary_beside`]) after a
/// failure, once this run has closed it: unless a file of that name is
/// held locked by another process (a run of this process id in another PID
/// namespace, writing the same file: [`create_temporary`] refused to
/// replace it), which is that run's, not this one's. A failure to remove
/// is ignored (it costs only space; a later run removes it).
pub fn remove_temporary(tmp: &Path) {
    if !held_by_another(tmp) {
        let _ = std::fs::remove_file(tmp);
    }
}

/// A test hook: with `CASELEDGER_TEST_HOLD_TEMPORARY` set, a command that
/// has just created its temporary file prints [`HOLDING_TEMPORARY`] and the
/// file's path to stderr and waits to be killed, so that a test's SIGKILL
/// lands while the file exists. Without the variable, nothing changes.
fn hold_for_a_test(tmp: &Path) {
    if std::env::var_os("CASELEDGER_TEST_HOLD_TEMPORARY").is_none() {
        return;
    }
    eprintln!("{HOLDING_TEMPORARY}: {}", tmp.display());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// What [`hold_for_a_test`] prints when it holds.
const HOLDING_TEMPORARY: &str = "CASELEDGER_TEST_HOLD_TEMPORARY: holding here until killed";

/// A head in the JSON of `verify` (both backends), `report` and `cases`.
#[derive(serde::Serialize)]
pub(super) struct HeadJson {
    position: u64,
    hash: String,
}

impl HeadJson {
    /// The head at `position` with chain hash `hash_hex`.
    pub(super) fn new(position: u64, hash_hex: String) -> HeadJson {
        HeadJson {
            position,
            hash: hash_hex,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

    use super::*;

    /// A temporary file under this process's own name that another open
    /// file holds locked is a live run's (one of another PID namespace with
    /// the same process id, writing the same output): `write_file` fails
    /// without touching it or the output, where it used to remove it and
    /// write its own, which the other run would then rename over the output
    /// half-written. Unlocked (a killed run's), it is replaced as before.
    #[test]
    fn a_temporary_of_this_name_held_by_a_live_run_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.txt");
        let tmp = temporary_beside(&path, "--output").unwrap();
        std::fs::write(&tmp, "theirs").unwrap();
        let theirs = std::fs::File::open(&tmp).unwrap();
        theirs.try_lock().unwrap();

        let err = write_file(&path, "ours", None).unwrap_err();
        let chain = format!("{err:#}");
        assert!(chain.contains("held by another process"), "{chain}");
        assert!(!path.exists(), "nothing written: {chain}");
        assert_eq!(std::fs::read_to_string(&tmp).unwrap(), "theirs");

        drop(theirs);
        write_file(&path, "ours", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "ours");
        assert!(!tmp.exists());
    }
}
