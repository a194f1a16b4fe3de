//! Segment files: naming, listing, and reading frames in order.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, ErrorKind};
use crate::format::{
    DecodeError, FRAME_HEADER_BYTES, Hash, MAX_BODY_BYTES, SEGMENT_HEADER_BYTES, SegmentHeader,
    check_frame_crc, decode_frame, frame_bytes,
};

/// How many bytes a reader asks the kernel for at a time. Large enough that a
/// replay is not bound by system calls, small enough to keep memory flat.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// The file name of segment `n`.
pub fn segment_name(n: u32) -> String {
    format!("seg-{n:08}.cls")
}

/// The segment number a file name stands for, if it is a segment's name.
pub fn parse_segment_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".cls")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// At most this many segment files a store keeps open for random reads
/// (`read_stream`); the least recently used is closed to open another. Why a
/// bound: one descriptor per segment capped a store at about 1,000 segments
/// (64 GiB at the default segment size) under the usual limit of 1,024 open
/// files per process; 64 leaves that limit to the embedding program.
pub const MAX_OPEN_SEGMENTS: usize = 64;

/// The segment files of a store directory, in order; checks they are
/// numbered 1..=n without gaps and are regular files.
pub fn list_segments(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_segment_name) {
            // A symbolic link is followed: it may point at a segment file.
            let kind = std::fs::metadata(entry.path())
                .map(|m| m.file_type())
                .map_err(|e| Error::io("stat", entry.path(), e))?;
            check_is_file(&entry.path(), kind)?;
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    for (expected, &n) in (1u32..).zip(&numbers) {
        if n != expected {
            return Err(Error::corrupt(crate::error::Damage::new(
                crate::error::DamageKind::Missing,
                dir.join(segment_name(expected)),
                0,
                format!("segment {expected} is missing (the next one is {n})"),
            )));
        }
    }
    Ok(numbers
        .into_iter()
        .map(|n| dir.join(segment_name(n)))
        .collect())
}

/// Refuses a segment name that is not a regular file (a directory, a
/// device, a socket): not data, and not damage to data either.
fn check_is_file(path: &Path, kind: std::fs::FileType) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let found = match kind {
        k if k.is_file() => return Ok(()),
        k if k.is_dir() => "a directory",
        k if k.is_fifo() => "a named pipe",
        k if k.is_socket() => "a socket",
        k if k.is_block_device() || k.is_char_device() => "a device",
        _ => "not a regular file",
    };
    Err(ErrorKind::NotASegmentFile {
        path: path.to_path_buf(),
        found,
    }
    .into())
}

/// Opens a segment file for reading; refuses what is not a regular file.
pub fn open_segment(path: &Path) -> Result<File, Error> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .file_type();
    check_is_file(path, kind)?;
    Ok(file)
}

/// Creates segment `n` with its header, synced. The caller syncs the
/// directory.
pub(crate) fn create_segment(
    dir: &Path,
    n: u32,
    first_position: u64,
    prev_hash: Hash,
) -> Result<File, Error> {
    create_segment_at(&dir.join(segment_name(n)), n, first_position, prev_hash)
}

/// Creates segment `n` at `path` (which must not exist) with its header,
/// synced.
pub(crate) fn create_segment_at(
    path: &Path,
    n: u32,
    first_position: u64,
    prev_hash: Hash,
) -> Result<File, Error> {
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    let header = SegmentHeader {
        segment: n,
        first_position,
        prev_hash,
    };
    file.write_all_at(&header.encode(), 0)
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_data()
        .map_err(|e| Error::io("fdatasync", path, e))?;
    Ok(file)
}

/// Removes a file; one that is not there is fine.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// The segment files of one store, opened on demand for random reads: at
/// most [`MAX_OPEN_SEGMENTS`] at a time, the least recently used closed
/// first. Streaming reads open their own files, one at a time.
#[derive(Debug)]
pub struct SegmentFiles {
    dir: PathBuf,
    /// (segment number, file, last use), at most `MAX_OPEN_SEGMENTS`.
    open: Mutex<OpenFiles>,
}

#[derive(Debug, Default)]
struct OpenFiles {
    files: Vec<(u32, Arc<File>, u64)>,
    clock: u64,
}

impl SegmentFiles {
    /// No file open yet.
    pub fn new(dir: &Path) -> SegmentFiles {
        SegmentFiles {
            dir: dir.to_path_buf(),
            open: Mutex::new(OpenFiles::default()),
        }
    }

    /// Segment `n`, opened if it is not open.
    pub fn get(&self, n: u32) -> Result<Arc<File>, Error> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.clock += 1;
        let now = open.clock;
        if let Some(entry) = open.files.iter_mut().find(|(m, _, _)| *m == n) {
            entry.2 = now;
            return Ok(Arc::clone(&entry.1));
        }
        let file = Arc::new(open_segment(&self.dir.join(segment_name(n)))?);
        if open.files.len() >= MAX_OPEN_SEGMENTS
            && let Some(oldest) = (0..open.files.len()).min_by_key(|&i| open.files[i].2)
        {
            open.files.swap_remove(oldest);
        }
        open.files.push((n, Arc::clone(&file), now));
        Ok(file)
    }

    /// Closes segments `n` and later (they were removed).
    pub fn forget_from(&self, n: u32) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.files.retain(|(m, _, _)| *m < n);
    }
}

/// A frame that could not be read, at `offset` of its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Where the frame starts.
    pub offset: u64,
    /// What is wrong.
    pub error: DecodeError,
}

/// Reads the frames of one segment in order, up to a byte limit, through a
/// bounded buffer.
#[derive(Debug)]
pub struct SegmentReader {
    /// `None` for a reader over bytes already read ([`SegmentReader::from_bytes`]).
    file: Option<Arc<File>>,
    /// Buffered bytes; `buf[start..end]` is unread.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The file offset of `buf[0]`.
    buf_offset: u64,
    /// Read no byte at or after this offset.
    limit: u64,
    /// The next file offset to read into the buffer.
    read_offset: u64,
}

impl SegmentReader {
    /// Reads `file` from `offset` up to `limit` (exclusive).
    pub fn new(file: Arc<File>, offset: u64, limit: u64) -> SegmentReader {
        SegmentReader {
            file: Some(file),
            buf: Vec::new(),
            start: 0,
            end: 0,
            buf_offset: offset,
            limit,
            read_offset: offset,
        }
    }

    /// Reads the frames in `bytes[..len]`, which were read from file
    /// offset `offset` of a segment (a block of a parallel read): the
    /// reader ends there, and reads no file. (The bytes after `len` are a
    /// reused buffer's, not read.)
    pub fn from_bytes(bytes: Vec<u8>, len: usize, offset: u64) -> SegmentReader {
        let end = len.min(bytes.len());
        let limit = offset + end as u64;
        SegmentReader {
            file: None,
            buf: bytes,
            start: 0,
            end,
            buf_offset: offset,
            limit,
            read_offset: limit,
        }
    }

    /// The reader's buffer, given back (to reuse the bytes of a block).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Reads and checks the segment header (the reader must start at 0).
    pub fn header(&mut self) -> Result<SegmentHeader, FrameError> {
        self.fill(SEGMENT_HEADER_BYTES).map_err(io_frame_error(0))?;
        let result = SegmentHeader::decode(&self.buf[self.start..self.end]);
        let header = result.map_err(|error| FrameError { offset: 0, error })?;
        self.start += SEGMENT_HEADER_BYTES;
        Ok(header)
    }

    /// The file offset of the next frame.
    pub fn offset(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// The next frame's body and its offset, or `None` at the limit.
    pub fn next_frame(&mut self) -> Result<Option<(u64, &[u8])>, FrameError> {
        match self.next_raw_frame()? {
            None => Ok(None),
            Some((offset, frame)) => match check_frame_crc(frame) {
                Ok(()) => Ok(Some((offset, &frame[FRAME_HEADER_BYTES..]))),
                Err(error) => Err(FrameError { offset, error }),
            },
        }
    }

    /// The next whole frame (length, checksum, body) and its offset, its
    /// length checked but not its checksum, or `None` at the limit. The
    /// caller checks the frame's CRC, or the body's chain link.
    pub fn next_raw_frame(&mut self) -> Result<Option<(u64, &[u8])>, FrameError> {
        let offset = self.offset();
        self.fill(FRAME_HEADER_BYTES)
            .map_err(io_frame_error(offset))?;
        if self.start == self.end {
            return Ok(None);
        }
        let unread = &self.buf[self.start..self.end];
        if unread.len() >= 4 {
            let len = u32::from_le_bytes([unread[0], unread[1], unread[2], unread[3]]) as usize;
            if len <= MAX_BODY_BYTES {
                self.fill(FRAME_HEADER_BYTES + len)
                    .map_err(io_frame_error(offset))?;
            }
        }
        match frame_bytes(&self.buf[self.start..self.end]).map(<[u8]>::len) {
            Ok(len) => {
                let frame_start = self.start;
                self.start += len;
                Ok(Some((offset, &self.buf[frame_start..frame_start + len])))
            }
            Err(error) => Err(FrameError { offset, error }),
        }
    }

    /// Makes at least `n` unread bytes available, or as many as remain
    /// before the limit.
    fn fill(&mut self, n: usize) -> std::io::Result<()> {
        if self.end - self.start >= n {
            return Ok(());
        }
        // A reader over bytes already read has nothing more to read.
        let Some(file) = &self.file else {
            return Ok(());
        };
        // Move the unread bytes to the front, then read after them. The
        // buffer is zeroed once, when it grows, not on every read.
        self.buf.copy_within(self.start..self.end, 0);
        self.buf_offset += self.start as u64;
        self.end -= self.start;
        self.start = 0;
        let size = READ_CHUNK_BYTES.max(n);
        if self.buf.len() < size {
            self.buf.resize(size, 0);
        }
        while self.end < n && self.read_offset < self.limit {
            let room = self.buf.len() - self.end;
            // `room` is a usize, so the minimum fits one.
            let want = (self.limit - self.read_offset).min(room as u64) as usize;
            let got = file.read_at(&mut self.buf[self.end..self.end + want], self.read_offset)?;
            if got == 0 {
                // The file is shorter than the limit: stop at its end.
                self.limit = self.read_offset;
                break;
            }
            self.end += got;
            self.read_offset += got as u64;
        }
        Ok(())
    }
}

fn io_frame_error(offset: u64) -> impl Fn(std::io::Error) -> FrameError {
    move |e| FrameError {
        offset,
        error: DecodeError::Bad {
            field: "file",
            detail: format!("read failed: {e}"),
        },
    }
}

/// Reads one frame's body at `offset` of `file`.
pub fn read_frame_at(file: &File, offset: u64) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    file.read_exact_at(&mut header, offset)
        .map_err(io_frame_error(offset))?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let mut frame = header.to_vec();
    if (1..=MAX_BODY_BYTES).contains(&len) {
        frame.resize(FRAME_HEADER_BYTES + len, 0);
        file.read_exact_at(
            &mut frame[FRAME_HEADER_BYTES..],
            offset + FRAME_HEADER_BYTES as u64,
        )
        .map_err(io_frame_error(offset))?;
    }
    decode_frame(&frame)
        .map(<[u8]>::to_vec)
        .map_err(|error| FrameError { offset, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_name(7), "seg-00000007.cls");
        assert_eq!(parse_segment_name("seg-00000007.cls"), Some(7));
        assert_eq!(parse_segment_name("seg-7.cls"), None);
        assert_eq!(parse_segment_name("seg-0000000a.cls"), None);
        assert_eq!(parse_segment_name("checkpoint"), None);
    }
}
