//! Opening a store the way each command needs: read-only, as an index-free
//! reader, or for writing (reporting what recovery cut); and `recover`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use caseledger_store::{Clock, Store, StoreOptions};

use super::output::{count, write_stdout};

/// Opens a store read-only, with a message that names the directory.
pub fn open_read_only(dir: &Path) -> Result<Store> {
    Store::open_read_only(dir).with_context(|| format!("cannot open store {}", dir.display()))
}

/// Opens a store for a whole-log read (no index), naming the directory in
/// errors.
pub fn open_reader(dir: &Path) -> Result<caseledger_store::LogReader> {
    caseledger_store::LogReader::open(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))
}

/// Opens a store for writing; reports on stderr what recovery cut.
pub fn open_writer(dir: &Path, clock: Clock) -> Result<Store> {
    let options = StoreOptions::default().clock(clock);
    let store = Store::open(dir, options)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    if store.recovery().cut_anything() {
        eprintln!("{}", describe_recovery(&store));
    }
    Ok(store)
}

fn describe_recovery(store: &Store) -> String {
    let r = store.recovery();
    let mut s = format!(
        "recovered: cut a torn tail ({}; {})",
        r.reason,
        count(r.uncommitted_events, "uncommitted event")
    );
    for piece in &r.cut {
        s.push_str(&format!(
            "\n  {} from byte {}: {} bytes, kept in {}",
            piece.file.display(),
            piece.from_offset,
            piece.bytes,
            piece.saved_to.display()
        ));
    }
    s
}

/// Runs `recover`: opens the store for writing, which cuts a torn tail, and
/// reports what was cut and the head.
pub fn recover(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("cannot open store {}: no such directory", dir.display());
    }
    let store = Store::open(dir, StoreOptions::default())
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    let head = store.head();
    let mut text = if store.recovery().cut_anything() {
        describe_recovery(&store)
    } else {
        "nothing to recover: the log ends with a complete commit".to_owned()
    };
    text.push_str(&format!(
        "\nhead: position {} hash {}\n",
        head.position,
        head.hash_hex()
    ));
    write_stdout(&text)
}
