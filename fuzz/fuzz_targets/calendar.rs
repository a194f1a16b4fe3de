//! Feeds arbitrary text to the business calendar's JSON reader
//! (`BusinessCalendar::from_json`, as the CLI and embedders read a calendar
//! file): no panic on any input; a calendar it accepts survives its own JSON
//! form unchanged; and the business-time questions asked of it agree with
//! each other. The first 24 bytes pick a start instant, an end instant and a
//! business duration; the rest is the calendar's text.
#![no_main]

use caseledger::calendar::{BusinessCalendar, CalendarTimeline};
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

/// The instants asked about: 2000-01-01 plus up to about 34 years, so the
/// questions stay inside the years a calendar counts.
const BASE_MS: i64 = 946_684_800_000;
/// The span the fuzzed instants and durations are folded into (2^40 ms).
const SPAN_MS: u64 = 1 << 40;
/// Business durations asked for: up to about 12 days, so a calendar with
/// little working time still answers within its search limit.
const MAX_B_MS: u64 = 1 << 30;

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

fn instant(ms: i64) -> DateTime<Utc> {
    // Within BASE_MS + 2^40 ms, far inside chrono's range: never None.
    DateTime::from_timestamp_millis(ms).expect("an instant of the years 2000 to 2034")
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let (numbers, text) = data.split_at(24);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(calendar) = BusinessCalendar::from_json(text) else {
        return;
    };
    let again = BusinessCalendar::from_json(&calendar.to_json())
        .expect("a calendar's own JSON is read back");
    assert_eq!(again, calendar);

    let start_ms = BASE_MS + (word(&numbers[0..8]) % SPAN_MS) as i64;
    let end_ms = BASE_MS + (word(&numbers[8..16]) % SPAN_MS) as i64;
    let b_ms = (word(&numbers[16..24]) % MAX_B_MS) as i64;
    let (start, end) = (instant(start_ms), instant(end_ms));

    // Business time is part of elapsed time, and the compiled timeline
    // answers as the day-by-day walk does.
    let between = calendar.business_ms(start, end);
    assert!(between >= 0 && between <= (end_ms - start_ms).max(0));
    let mut timeline = CalendarTimeline::new(calendar.clone());
    assert_eq!(timeline.business_ms(start_ms, end_ms), between);

    // A deadline `b_ms` of business time after the start has exactly that
    // much business time before it, and no earlier instant has.
    let walked = calendar.add_business_ms(start, b_ms);
    let compiled = timeline.add_business_ms(start_ms, b_ms);
    assert_eq!(
        walked.as_ref().ok().map(|t| t.timestamp_millis()),
        compiled.as_ref().ok().copied()
    );
    if let Ok(deadline) = walked {
        assert_eq!(calendar.business_ms(start, deadline), b_ms);
        if b_ms > 0 {
            let just_before = instant(deadline.timestamp_millis() - 1);
            assert!(calendar.business_ms(start, just_before) < b_ms);
        }
    }
});
