//! The in-memory index: where each stream's events are, and each event id.
//!
//! It is rebuilt from the log on every open (never stored), so it cannot
//! disagree with the log. About 40 bytes per event.

use std::collections::HashMap;

use caseledger::{CaseId, EventId, StoredAt};
use foldhash::fast::RandomState;

use crate::chain::HashPrefix;

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
    /// The position of the stream's previous event (0: none): the streams
    /// are chains through the locations, with no list per stream to grow.
    prev: u64,
    /// The prefix of its chain hash, as verified when the store was opened
    /// (or as written since): a random read checks the record against it.
    pub hash: HashPrefix,
}

/// A stream in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stream {
    case_id: CaseId,
    /// The position of its last event.
    last: u64,
    /// How many events it has: its version.
    count: u64,
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
    /// The prefix of its chain hash (0 until the scan's chain walk sets it).
    pub hash: HashPrefix,
}

/// Streams, event ids and record locations of the committed log.
#[derive(Debug, Default)]
pub struct Index {
    streams: Vec<Stream>,
    /// Keyed by case ids from input: a randomly seeded hasher, so that
    /// crafted ids cannot all collide.
    by_case: HashMap<CaseId, u32, RandomState>,
    /// Event ids and positions of the log as opened, sorted by id once the
    /// scan is done: appending to a vector and sorting it once is several
    /// times faster than a million random inserts into a map.
    opened_ids: Vec<(EventId, u64)>,
    /// Event ids appended since the open.
    recent_ids: HashMap<EventId, u64, RandomState>,
    /// True while a scan builds the index: `opened_ids` is not sorted yet.
    building: bool,
    /// The location of position p is at p - 1.
    locs: Vec<Loc>,
}

impl Index {
    /// An empty index with room for about `events` events.
    pub fn with_capacity(events: usize) -> Index {
        Index {
            streams: Vec::with_capacity(events / 8),
            by_case: HashMap::with_capacity_and_hasher(events / 8, RandomState::default()),
            opened_ids: Vec::with_capacity(events),
            recent_ids: HashMap::default(),
            building: true,
            locs: Vec::with_capacity(events),
        }
    }

    /// Ends building: sorts the ids of the opened log and checks they are
    /// unique. On a repeat, returns it with both positions.
    pub fn finish_building(&mut self) -> Result<(), (EventId, u64, u64)> {
        self.building = false;
        self.opened_ids.sort_unstable_by_key(|(id, _)| *id);
        match self.opened_ids.windows(2).find(|w| w[0].0 == w[1].0) {
            Some(w) => Err((w[0].0, w[0].1.min(w[1].1), w[0].1.max(w[1].1))),
            None => Ok(()),
        }
    }

    fn position_of(&self, id: &EventId) -> Option<u64> {
        if let Some(p) = self.recent_ids.get(id) {
            return Some(*p);
        }
        if self.building {
            return None;
        }
        let i = self
            .opened_ids
            .binary_search_by_key(id, |(id, _)| *id)
            .ok()?;
        Some(self.opened_ids[i].1)
    }

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
        self.stream(case_id).map_or(0, |s| s.count)
    }

    fn stream(&self, case_id: &CaseId) -> Option<&Stream> {
        self.by_case
            .get(case_id)
            .and_then(|&i| self.streams.get(i as usize))
    }

    /// The positions of a stream's events at versions `from_version` on
    /// and at positions up to `head`, in version order. Walks the stream's
    /// chain back from its last event only as far as `from_version`.
    pub fn positions_from(&self, case_id: &CaseId, from_version: u64, head: u64) -> Vec<u64> {
        let Some(stream) = self.stream(case_id) else {
            return Vec::new();
        };
        let wanted = stream.count.saturating_sub(from_version.max(1) - 1);
        let mut positions = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
        let mut p = stream.last;
        while let Some(loc) = self.loc(p) {
            if u64::from(loc.version) < from_version {
                break;
            }
            if p <= head {
                positions.push(p);
            }
            p = loc.prev;
        }
        positions.reverse();
        positions
    }

    /// A stream's version counting only its events at positions up to
    /// `head` (a commit adds to the index before it moves the head).
    pub fn version_at(&self, case_id: &CaseId, head: u64) -> u64 {
        let Some(stream) = self.stream(case_id) else {
            return 0;
        };
        let mut p = stream.last;
        while p > head {
            let Some(loc) = self.loc(p) else { return 0 };
            p = loc.prev;
        }
        self.loc(p).map_or(0, |loc| u64::from(loc.version))
    }

    /// Where an event id is stored.
    pub fn lookup(&self, id: &EventId) -> Option<StoredAt> {
        let position = self.position_of(id)?;
        let loc = self.loc(position)?;
        let stream = self.streams.get(loc.stream as usize)?;
        Some(StoredAt {
            case_id: stream.case_id,
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
        // One map lookup per event: it is the open's most expensive step.
        let existing = self.by_case.get(&e.case_id).copied();
        let version = existing
            .and_then(|i| self.streams.get(i as usize))
            .map_or(0, |s| s.count);
        if e.version != version + 1 || e.version > MAX_STREAM_VERSION {
            return Err(format!(
                "stream {} version {} does not follow {version}",
                e.case_id, e.version
            ));
        }
        // While building, repeats are found by `finish_building`.
        if let Some(p) = self.position_of(&e.event_id) {
            return Err(format!("event id {} is used at position {p}", e.event_id));
        }
        let stream = match existing {
            Some(i) => i,
            None => {
                let Ok(i) = u32::try_from(self.streams.len()) else {
                    return Err("more than 4 billion streams".to_owned());
                };
                self.streams.push(Stream {
                    case_id: e.case_id,
                    last: 0,
                    count: 0,
                });
                self.by_case.insert(e.case_id, i);
                i
            }
        };
        let Some(info) = self.streams.get_mut(stream as usize) else {
            return Err(format!("stream number {stream} is not indexed"));
        };
        let prev = info.last;
        info.last = e.position;
        info.count += 1;
        if self.building {
            self.opened_ids.push((e.event_id, e.position));
        } else {
            self.recent_ids.insert(e.event_id, e.position);
        }
        self.locs.push(Loc {
            segment: e.segment,
            offset: e.offset,
            stream,
            // Checked against MAX_STREAM_VERSION above.
            version: e.version as u32,
            prev,
            hash: e.hash,
        });
        Ok(())
    }

    /// Sets the hash prefix of every event, in position order: what the
    /// chain walk of an open verified.
    pub fn set_hash_prefixes(&mut self, prefixes: &[HashPrefix]) -> Result<(), String> {
        if prefixes.len() != self.locs.len() {
            return Err(format!(
                "the chain walk saw {} events, the scan {}",
                prefixes.len(),
                self.locs.len()
            ));
        }
        for (loc, &hash) in self.locs.iter_mut().zip(prefixes) {
            loc.hash = hash;
        }
        Ok(())
    }
}

impl Index {
    /// Removes every event after `position`; `removed` are their event ids.
    /// Streams they created are removed too (they are the newest streams).
    pub fn truncate(&mut self, position: u64, removed: &[EventId]) {
        while self.last_position() > position {
            let Some(loc) = self.locs.pop() else { break };
            let stream = loc.stream as usize;
            if let Some(info) = self.streams.get_mut(stream) {
                info.last = loc.prev;
                info.count -= 1;
            }
            if stream + 1 == self.streams.len()
                && self.streams[stream].count == 0
                && let Some(info) = self.streams.pop()
            {
                self.by_case.remove(&info.case_id);
            }
        }
        if self.building {
            // The removed events are the last ones pushed.
            let keep = self.opened_ids.len().saturating_sub(removed.len());
            self.opened_ids.truncate(keep);
        } else {
            for id in removed {
                self.recent_ids.remove(id);
            }
        }
    }
}

/// Batches at least this large are applied to the index in bulk.
const BULK_APPLY_EVENTS: usize = 4096;

impl Index {
    /// Makes room for `events` more events of at most `cases` new streams,
    /// before a batch is applied: one allocation each instead of doublings.
    fn reserve(&mut self, events: usize, cases: usize) {
        self.locs.reserve(events);
        self.streams.reserve(cases);
        self.by_case.reserve(cases);
        if self.building {
            self.opened_ids.reserve(events);
        }
    }

    /// Moves the ids appended since the open into the sorted ids (which the
    /// caller sorts again).
    fn fold_recent_ids(&mut self) {
        self.opened_ids.extend(self.recent_ids.drain());
    }
}

/// Events written but not yet committed, seen on top of an [`Index`].
#[derive(Debug, Default)]
pub struct Overlay {
    entries: Vec<Entry>,
    added: HashMap<CaseId, u64, RandomState>,
    ids: HashMap<EventId, StoredAt, RandomState>,
}

impl Overlay {
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

    /// The segment and frame offset of an event of the overlay.
    pub fn location(&self, position: u64) -> Option<(u32, u64)> {
        let first = self.entries.first()?.position;
        let i = usize::try_from(position.checked_sub(first)?).ok()?;
        let e = self.entries.get(i)?;
        Some((e.segment, u64::from(e.offset)))
    }

    /// Makes room for about `events` more events (of at most `events`
    /// cases), so that a large batch does not rehash its maps as they grow:
    /// each doubling copies the map and touches fresh pages.
    pub fn reserve(&mut self, events: usize) {
        self.entries.reserve(events);
        self.ids.reserve(events);
        // Cases are fewer than events; a map that is too small grows.
        self.added.reserve(events / 8);
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
        // A large batch (an import) goes in as a bulk build: its ids are
        // appended to the sorted ids and sorted with them once, instead of a
        // map insert each. The sort costs about as much as the whole index
        // again, so only batches of a sixteenth of the index or more.
        let bulk = self.entries.len() >= BULK_APPLY_EVENTS
            && self.entries.len() as u64 >= index.last_position() / 16;
        if bulk {
            index.building = true;
        }
        index.reserve(self.entries.len(), self.added.len());
        for e in self.entries.drain(..) {
            index.push(&e)?;
        }
        if bulk {
            index.fold_recent_ids();
            index
                .finish_building()
                .map_err(|(id, a, b)| format!("event id {id} is at positions {a} and {b}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(position: u64, case: u128, version: u64, id: u128) -> Entry {
        Entry {
            position,
            case_id: CaseId::from_u128(case),
            version,
            event_id: EventId::from_u128(id),
            segment: 1,
            offset: 64,
            hash: 0,
        }
    }

    #[test]
    fn building_finds_repeated_ids_and_truncation_forgets_new_streams() {
        let mut index = Index::with_capacity(4);
        index.push(&entry(1, 1, 1, 10)).unwrap();
        index.push(&entry(2, 2, 1, 11)).unwrap();
        index.push(&entry(3, 1, 2, 12)).unwrap();
        index.truncate(1, &[EventId::from_u128(11), EventId::from_u128(12)]);
        assert_eq!((index.last_position(), index.stream_count()), (1, 1));
        index.push(&entry(2, 3, 1, 10)).unwrap();
        let repeat = index.finish_building().unwrap_err();
        assert_eq!(repeat, (EventId::from_u128(10), 1, 2));
    }

    #[test]
    fn after_building_ids_are_checked_at_once() {
        let mut index = Index::with_capacity(4);
        index.push(&entry(1, 1, 1, 10)).unwrap();
        index.finish_building().unwrap();
        assert!(index.push(&entry(2, 1, 2, 10)).is_err());
        index.push(&entry(2, 1, 2, 11)).unwrap();
        assert_eq!(
            index.lookup(&EventId::from_u128(11)).map(|s| s.position),
            Some(2)
        );
        assert_eq!(
            index.lookup(&EventId::from_u128(10)).map(|s| s.version),
            Some(1)
        );
    }
}
