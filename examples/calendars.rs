//! Business calendars and the SLA rule (docs/kpis.md, "SLA"): a Shanghai
//! desk's calendar with the 2026 National Day week and its make-up days,
//! business time and deadlines on it, and one complaint's SLA verdict with
//! the resolution clock paused while the bank waited on the customer.
//!
//! Run: `cargo run --example calendars`

use caseledger::calendar::BusinessCalendar;
use caseledger::kpi::{SlaCase, SlaPolicy};
use caseledger::{Category, Priority, Tier, format_timestamp};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// The desk: 09:00-18:00 with a lunch hour, Monday to Friday; 1 to 7
/// October off; Sunday 27 September and Saturday 10 October worked.
const SHANGHAI: &str = r#"{
  "time_zone": "Asia/Shanghai",
  "week": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": ["09:00-12:00", "13:00-18:00"],
           "wed": ["09:00-12:00", "13:00-18:00"], "thu": ["09:00-12:00", "13:00-18:00"],
           "fri": ["09:00-12:00", "13:00-18:00"]},
  "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05",
               "2026-10-06", "2026-10-07"],
  "working_days": ["2026-09-27", "2026-10-10"]
}"#;

/// Shanghai wall-clock time in 2026.
fn sh(mo: u32, d: u32, h: u32) -> Result<DateTime<Utc>, Box<dyn std::error::Error>> {
    let zone = FixedOffset::east_opt(8 * 3600).ok_or("offset")?;
    let local = zone
        .with_ymd_and_hms(2026, mo, d, h, 0, 0)
        .single()
        .ok_or("no such local time")?;
    Ok(local.with_timezone(&Utc))
}

fn hours(ms: i64) -> f64 {
    ms as f64 / 3_600_000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calendar = BusinessCalendar::from_json(SHANGHAI)?;

    // Business time over the holiday week: from Wednesday 30 September
    // 17:00 to Thursday 8 October 17:00 is 8 days of wall time, 8 hours of
    // work (one on the 30th, seven on the 8th).
    let (start, end) = (sh(9, 30, 17)?, sh(10, 8, 17)?);
    let worked = calendar.business_ms(start, end);
    println!(
        "business time {} .. {}: {:.1} h",
        format_timestamp(&start),
        format_timestamp(&end),
        hours(worked)
    );
    assert_eq!(worked, 8 * 3_600_000);

    // The deadline 16 business hours after Friday 25 September 17:00 runs
    // through the make-up Sunday: 1 h on Friday, 8 h on Sunday 27, 7 h on
    // Monday 28, so 17:00 on Monday.
    let due = calendar.add_business_ms(sh(9, 25, 17)?, 16 * 3_600_000)?;
    println!(
        "16 business hours after Fri 25 Sep 17:00: {}",
        format_timestamp(&due)
    );
    assert_eq!(due, sh(9, 28, 17)?);

    // A complaint opened Thursday 24 September 10:00, waiting on the
    // customer from 17:00 to Monday 28 10:00, resolved Monday 15:00.
    let policy = SlaPolicy::from_json(&format!(
        r#"{{"calendar": {SHANGHAI}, "warn_at": 0.8,
            "priorities": {{"normal": {{"response_s": 14400, "resolution_s": 259200}}}},
            "categories": {{"complaint": {{"high": {{"response_s": 1800, "resolution_s": 36000}}}}}}}}"#
    ))?;
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let waits = [(ms(sh(9, 24, 17)?), ms(sh(9, 28, 10)?))];
    let case = SlaCase {
        category: Some(Category::Complaint),
        priority: Some(Priority::High),
        tier: Tier::Standard,
        opened_ms: ms(sh(9, 24, 10)?),
        first_response_ms: Some(ms(sh(9, 24, 10)?) + 20 * 60_000),
        resolved_ms: Some(ms(sh(9, 28, 15)?)),
        waits_ms: &waits,
        waiting_since_ms: None,
    };
    let mut clock = policy.clock();
    let verdict = policy.verdict(&mut clock, &case, ms(sh(9, 30, 9)?));
    println!(
        "complaint: response {:.2} h of {:.2} h ({:?}); resolution {:.1} h of {:.1} h net of waits ({:?}); case {:?}",
        hours(verdict.response.elapsed_ms),
        hours(verdict.response.target_ms),
        verdict.response.state,
        hours(verdict.resolution.elapsed_ms),
        hours(verdict.resolution.target_ms),
        verdict.resolution.state,
        verdict.state()
    );
    // 28 business hours from opening to resolution, 18 of them waiting.
    assert_eq!(verdict.resolution.elapsed_ms, 10 * 3_600_000);
    Ok(())
}
