//! The in-memory index: where each stream's events are, and each event id.
//!
//! It is rebuilt from the log on every open (never stored), so it cannot
//! disagree with the log. About 40 bytes per event.

use std::collections::HashMap;

use caseledger::{CaseId, EventId, StoredAt};

/// The largest stream version the index holds (versions are stored in 32
/// bits to keep the index small; four billion events in one case is far
/// beyond any real case).
pub const MAX_STREAM_VERSION: u64 = u32::MAX as u64;

/// Where an event record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Its segment number.
    pub segment: u32,
    /// Its frame's byte offset in the segment (segments are at most 1 GiB).
    pub offset: u32,
    /// Its stream's number in [`Index::streams`].
    stream: u32,
    /// Its stream version.
    version: u32,
}

/// One event to add to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Global position.
    pub position: u64,
    /// Stream.
    pub case_id: CaseId,
    /// Stream version.
    pub version: u64,
    /// Event id.
    pub event_id: EventId,
    /// Segment number.
    pub segment: u32,
    /// Frame offset.
    pub offset: u32,
}

/// Streams, event ids and record locations of the committed log.
#[derive(Debug, Default)]
pub struct Index {
    streams: Vec<(CaseId, Vec<u64>)>,
    by_case: HashMap<CaseId, u32>,
    ids: HashMap<EventId, u64>,
    /// The location of position p is at p - 1.
    locs: Vec<Loc>,
}

impl Index {
    /// The last position (0: empty).
    pub fn last_position(&self) -> u64 {
        self.locs.len() as u64
    }

    /// How many streams there are.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// A stream's version (0: no stream).
    pub fn version(&self, case_id: &CaseId) -> u64 {
        self.positions(case_id).len() as u64
    }

    /// A stream's positions in version order.
    pub fn positions(&self, case_id: &CaseId) -> &[u64] {
        match self.by_case.get(case_id) {
            Some(&i) => &self.streams[i as usize].1,
            None => &[],
        }
    }

    /// Where an event id is stored.
    pub fn lookup(&self, id: &EventId) -> Option<StoredAt> {
        let position = *self.ids.get(id)?;
        let loc = self.loc(position)?;
        let (case_id, _) = self.streams.get(loc.stream as usize)?;
        Some(StoredAt {
            case_id: *case_id,
            version: u64::from(loc.version),
            position,
        })
    }

    /// Where position `p` is.
    pub fn loc(&self, p: u64) -> Option<Loc> {
        let i = usize::try_from(p.checked_sub(1)?).ok()?;
        self.locs.get(i).copied()
    }

    /// Adds an event; the caller has checked it continues the log (the
    /// overlay and the scan do), so a mismatch is a bug reported as an error.
    pub fn push(&mut self, e: &Entry) -> Result<(), String> {
        if e.position != self.last_position() + 1 {
            return Err(format!(
                "position {} does not follow {}",
                e.position,
                self.last_position()
            ));
        }
        if e.version != self.version(&e.case_id) + 1 || e.version > MAX_STREAM_VERSION {
            return Err(format!(
                "stream {} version {} does not follow {}",
                e.case_id,
                e.version,
                self.version(&e.case_id)
            ));
        }
        if let Some(p) = self.ids.get(&e.event_id) {
            return Err(format!("event id {} is used at position {p}", e.event_id));
        }
        let stream = match self.by_case.get(&e.case_id) {
            Some(&i) => i,
            None => {
                let Ok(i) = u32::try_from(self.streams.len()) else {
                    return Err("more than 4 billion streams".to_owned());
                };
                self.streams.push((e.case_id, Vec::new()));
                self.by_case.insert(e.case_id, i);
                i
            }
        };
        self.streams[stream as usize].1.push(e.position);
        self.ids.insert(e.event_id, e.position);
        self.locs.push(Loc {
            segment: e.segment,
            offset: e.offset,
            stream,
            // Checked against MAX_STREAM_VERSION above.
            version: e.version as u32,
        });
        Ok(())
    }
}

/// Events written but not yet committed, seen on top of an [`Index`].
#[derive(Debug, Default)]
pub struct Overlay {
    entries: Vec<Entry>,
    added: HashMap<CaseId, u64>,
    ids: HashMap<EventId, StoredAt>,
}

impl Overlay {
    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Its events.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// A stream's version with the overlay applied.
    pub fn version(&self, index: &Index, case_id: &CaseId) -> u64 {
        index.version(case_id) + self.added.get(case_id).copied().unwrap_or(0)
    }

    /// Where an event id is stored, in the overlay or the index.
    pub fn lookup(&self, index: &Index, id: &EventId) -> Option<StoredAt> {
        self.ids.get(id).copied().or_else(|| index.lookup(id))
    }

    /// Adds an event.
    pub fn push(&mut self, e: Entry) {
        *self.added.entry(e.case_id).or_default() += 1;
        self.ids.insert(
            e.event_id,
            StoredAt {
                case_id: e.case_id,
                version: e.version,
                position: e.position,
            },
        );
        self.entries.push(e);
    }

    /// Moves every event into `index`.
    pub fn apply(&mut self, index: &mut Index) -> Result<(), String> {
        for e in self.entries.drain(..) {
            index.push(&e)?;
        }
        self.added.clear();
        self.ids.clear();
        Ok(())
    }

    /// Forgets every event.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.added.clear();
        self.ids.clear();
    }
}
