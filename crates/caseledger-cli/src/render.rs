//! Text renderings: report tables and CSV, case histories.
//!
//! By format: `table.rs` the terminal table of a report (and the notes
//! under its head), `csv.rs` its CSV, `history.rs` a case's history,
//! `text.rs` the display-cell layout they share.

mod board;
mod csv;
mod history;
mod table;
mod text;

pub use board::{BoardView, board_csv, board_table};
pub(crate) use csv::csv_text;
pub use csv::report_csv;
pub use history::{history_json, history_table};
pub use table::{
    DEFAULT_TABLE_COLUMNS, TableWidth, UNVERIFIED_HEAD, orphan_events_note, report_table,
};
pub(crate) use text::{columns, printable, printable_lines, shown_id};

#[cfg(test)]
mod tests {
    use super::csv::{Leaf, csv_cell, csv_text, flatten};
    use super::table::{MIN_TABLE_COLUMNS, TABLE_FIGURES};
    use super::text::{cut, wrap};
    use super::*;
    use caseledger::kpi::{GroupBy, GroupKpis, KpiAccumulator, Report, ReportParams};
    use caseledger_store::Head;
    use unicode_width::UnicodeWidthStr;

    /// A report by agent with the given keys (every group with the figures
    /// of an empty report, with a few counts set so that cells have width).
    fn report_with_keys(keys: &[&str]) -> Report {
        let mut report = KpiAccumulator::new(None).report(&ReportParams::default());
        report.group_by = Some(GroupBy::Agent);
        report.overall.cases_opened = 123_456;
        report.overall.fcr_rate = Some(0.5);
        report.overall.first_response.median_s = Some(7_500.0);
        report.groups = keys
            .iter()
            .map(|k| GroupKpis {
                key: (*k).to_owned(),
                then_key: None,
                kpis: report.overall,
            })
            .collect();
        report
    }

    fn head() -> Head {
        Head {
            position: 7,
            hash: [0xab; 32],
        }
    }

    #[test]
    fn no_line_is_wider_than_the_width() {
        let long = "agent-".repeat(20);
        let report = report_with_keys(&["agent-001", "王小明", &long]);
        for width in [10, 40, 60, 80, 100, 132] {
            let text = report_table(&report, &head(), false, TableWidth::Fit(width));
            let limit = width.max(MIN_TABLE_COLUMNS);
            for line in text.lines() {
                assert!(line.width() <= limit, "{width}: {line:?}");
            }
            assert!(text.contains("Legend:"), "{text}");
        }
    }

    #[test]
    fn the_narrow_table_says_how_to_see_the_rest_and_wide_shows_all() {
        let report = report_with_keys(&["agent-001"]);
        let narrow = report_table(&report, &head(), true, TableWidth::Fit(80));
        assert!(narrow.contains("--wide shows them all"), "{narrow}");
        let wide = report_table(&report, &head(), true, TableWidth::Wide);
        let header = wide
            .lines()
            .find(|l| l.starts_with("agent "))
            .unwrap_or_default();
        for f in TABLE_FIGURES {
            assert!(header.contains(f.abbrev), "{}: {header}", f.abbrev);
            // Every abbreviation shown has its line in the legend.
            assert!(
                wide.lines()
                    .any(|l| l.starts_with(&format!("{} ", f.abbrev)) && l.contains(f.label)),
                "{}",
                f.abbrev
            );
        }
        assert!(wide.contains("Every figure of the table is shown"));
    }

    #[test]
    fn wide_characters_line_up_by_display_width() {
        let report = report_with_keys(&["王小明", "agent-1"]);
        let text = report_table(&report, &head(), true, TableWidth::Fit(80));
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("王小明") || l.starts_with("agent-1"))
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        // The same display width, though not the same number of chars.
        assert_eq!(rows[0].width(), rows[1].width(), "{text}");
        assert_ne!(rows[0].chars().count(), rows[1].chars().count());
    }

    #[test]
    fn long_keys_are_cut_with_an_ellipsis() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("王小明", 4), "王…");
        assert_eq!(cut("abc", 3), "abc");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_inside_overlong_words() {
        assert_eq!(wrap("aa bb cc", Some(5), 1), "aa bb\n cc\n");
        assert_eq!(wrap("abcdefgh", Some(3), 0), "abc\ndef\ngh\n");
        assert_eq!(wrap("aa bb", None, 0), "aa bb\n");
    }

    #[test]
    fn text_starting_like_a_formula_gets_a_leading_quote() {
        assert_eq!(csv_text("=1+2"), "'=1+2");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-1"), "'-1");
        assert_eq!(csv_text("@SUM(1)"), "'@SUM(1)");
        assert_eq!(csv_text("\tx"), "'\tx");
        // A carriage return also needs quoting: both apply.
        assert_eq!(csv_text("\rx"), "\"'\rx\"");
        // Quoting comes after the guard, with quotes doubled.
        assert_eq!(
            csv_text("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
    }

    #[test]
    fn ordinary_text_is_unchanged_or_only_quoted() {
        assert_eq!(csv_text("agent-17"), "agent-17");
        assert_eq!(csv_text("a=b"), "a=b");
        assert_eq!(csv_text("2026-03"), "2026-03");
        assert_eq!(csv_text(""), "");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn figures_stay_numbers_even_when_negative() {
        assert_eq!(csv_cell(&Leaf::Figure("-0.5".into())), "-0.5");
        assert_eq!(csv_cell(&Leaf::Figure("-3".into())), "-3");
        assert_eq!(csv_cell(&Leaf::Figure(String::new())), "");
        assert_eq!(csv_cell(&Leaf::Text("-3".into())), "'-3");
    }

    #[test]
    fn flatten_tells_text_from_figures() {
        let v = serde_json::json!({"a": {"b": -1.5, "c": null}, "d": "-x", "e": true});
        let mut cells = Vec::new();
        flatten("", &v, &mut cells);
        let csv: Vec<(String, String)> = cells
            .iter()
            .map(|(k, leaf)| (k.clone(), csv_cell(leaf)))
            .collect();
        let expected = [("a_b", "-1.5"), ("a_c", ""), ("d", "'-x"), ("e", "true")];
        assert_eq!(
            csv,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }
}
