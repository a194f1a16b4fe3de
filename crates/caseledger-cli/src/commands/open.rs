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

/// [`open_reader`], or with `head` (`--head`) the store as it stood when
/// its head was there: a reader of the events up to that position, whose
/// head is that past head, its hash checked against the one given before
/// anything is read.
pub fn open_reader_at(
    dir: &Path,
    head: Option<&crate::args::HeadArg>,
) -> Result<caseledger_store::LogReader> {
    let reader = open_reader(dir)?;
    let Some(arg) = head else {
        return Ok(reader);
    };
    let past = reader.up_to(arg.position).with_context(|| {
        format!(
            "cannot read store {} as it stood at --head {}",
            dir.display(),
            arg.position
        )
    })?;
    check_head(arg, &past.head())?;
    Ok(past)
}

/// The one check of `--head` on every store: the head found at the
/// position given has the hash given (when one was). The error says the
/// ledger there is not the one the head was printed from, with both
/// hashes.
pub fn check_head(arg: &crate::args::HeadArg, found: &caseledger_store::Head) -> Result<()> {
    match arg.hash {
        Some(hash) if hash != found.hash => bail!(
            "--head {position}: the ledger at position {position} is not the ledger the head was \
             printed from: its chain hash there is {}, the head given says {} (events up to \
             position {position} were changed or replaced since, or this is another store)",
            found.hash_hex(),
            caseledger_store::hex(&hash),
            position = arg.position,
        ),
        _ => Ok(()),
    }
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

/// Opens an existing store for writing: for a command that appends to a
/// store it did not make (`follow-ups plan --apply`), where a mistyped
/// path must be an error, not a new, empty store on which the command
/// finds nothing to do and succeeds.
pub fn open_existing_writer(dir: &Path, clock: Clock) -> Result<Store> {
    // What a read-only open refuses first (without reading the log): no
    // directory, or no checkpoint file in it. A store whose creation a
    // crash interrupted has no checkpoint either, and nothing to act on.
    if !dir.is_dir() {
        bail!("cannot open store {}: no such directory", dir.display());
    }
    if !dir.join(caseledger_store::CHECKPOINT_FILE).exists() {
        bail!(
            "cannot open store {}: it is not a caseledger store (it has no {} file)",
            dir.display(),
            caseledger_store::CHECKPOINT_FILE
        );
    }
    open_writer(dir, clock)
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
    // A directory without a checkpoint file holds no store (a creation a
    // crash interrupted writes it first): nothing to recover, and `recover`
    // makes no store (the writer's open would).
    let checkpoint_path = dir.join(caseledger_store::CHECKPOINT_FILE);
    if !checkpoint_path.exists() {
        bail!(
            "cannot open store {}: it is not a caseledger store (it has no {} file); nothing \
             to recover",
            dir.display(),
            caseledger_store::CHECKPOINT_FILE
        );
    }
    // What a reader saw before, to say what the writer's open mended
    // besides a cut: a checkpoint behind the log, a damaged checkpoint
    // slot, an interrupted creation. (The writer's open writes the
    // checkpoint on every open, so its bytes changing says nothing.)
    let read_before = caseledger_store::LogReader::open(dir).map(|r| r.head());
    let store = Store::open(dir, StoreOptions::default())
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    let head = store.head();
    let mut mended = Vec::new();
    if store.recovery().cut_anything() {
        mended.push(describe_recovery(&store));
    }
    match read_before {
        Ok(before) if before.position != head.position => mended.push(format!(
            "recovered: the checkpoint recorded position {} and the log holds complete commits \
             to position {} (a crash after a commit was synced, before its checkpoint); the \
             checkpoint now records the log's last complete commit",
            before.position, head.position
        )),
        Ok(_) => {}
        Err(e) => mended.push(match e.kind() {
            caseledger_store::ErrorKind::TornTail(d)
                if d.kind == caseledger_store::DamageKind::Missing =>
            {
                "recovered: completed the store's creation, which a crash had interrupted (its \
                 checkpoint named an empty log and no segment file was there)"
                    .to_owned()
            }
            // A torn tail the cut above reports.
            caseledger_store::ErrorKind::TornTail(_) => String::new(),
            _ => format!(
                "recovered: the store could not be read ({e}); its checkpoint now records the \
                 log's last complete commit"
            ),
        }),
    }
    mended.retain(|m| !m.is_empty());
    let mut text = match mended.is_empty() {
        true => "nothing to recover: the log ends with a complete commit".to_owned(),
        false => mended.join("\n"),
    };
    text.push_str(&format!(
        "\nhead: position {} hash {}\n",
        head.position,
        head.hash_hex()
    ));
    write_stdout(&text)
}
