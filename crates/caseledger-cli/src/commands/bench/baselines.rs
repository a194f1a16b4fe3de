//! The baselines measured in the same session as caseledger's figures:
//! raw read plus CRC-32C, a plain serde_json fold, raw fdatasync.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Deserialize;

pub(super) fn read_and_crc(dir: &Path) -> Result<Duration> {
    let t = Instant::now();
    let mut crc = 0u32;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 1;
    loop {
        let path = dir.join(caseledger_store::segment_name(n));
        let Ok(file) = std::fs::File::open(&path) else {
            break;
        };
        let mut offset = 0;
        loop {
            let got = file.read_at(&mut buf, offset)?;
            if got == 0 {
                break;
            }
            crc = crc32c::crc32c_append(crc, &buf[..got]);
            offset += got as u64;
        }
        n += 1;
    }
    std::hint::black_box(crc);
    Ok(t.elapsed())
}

/// The fields a simple KPI query needs, borrowed from the line.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    case_id: &'a str,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(borrow)]
    at: &'a str,
}

/// Parses every line into borrowed fields and counts opened and resolved
/// cases and the mean hours from opening to the first response: what a
/// straightforward JSON replay does, with nothing of the full KPI set.
pub(super) fn json_fold(path: &Path) -> Result<(Duration, u64)> {
    let t = Instant::now();
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut line = String::new();
    let mut opened_at: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let (mut opened, mut resolved, mut responses, mut response_s) = (0u64, 0u64, 0u64, 0i64);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l: Line<'_> = serde_json::from_str(&line)?;
        let at = caseledger::parse_timestamp(l.at)?.timestamp();
        match l.kind {
            "opened" => {
                opened += 1;
                opened_at.insert(l.case_id.to_owned(), at);
            }
            "resolved" => resolved += 1,
            "responded" => {
                if let Some(o) = opened_at.remove(l.case_id) {
                    responses += 1;
                    response_s += at - o;
                }
            }
            _ => {}
        }
    }
    std::hint::black_box((opened, resolved, response_s / responses.max(1) as i64));
    Ok((t.elapsed(), opened))
}

pub(super) fn raw_fdatasync(dir: &Path, n: u64) -> Result<Duration> {
    let path = dir.join("fdatasync-baseline");
    let mut f = std::fs::File::create(&path)?;
    let record = [0x5au8; 128];
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(&record)?;
        f.sync_data()?;
    }
    let d = t.elapsed();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(d)
}
