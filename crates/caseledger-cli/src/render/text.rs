//! Laying text out in display cells: padding, cutting, wrapping.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `s` padded with spaces to `width` display cells (CJK characters take
/// two), on the right (`left_align`) or the left.
pub(super) fn pad(s: &str, width: usize, left_align: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if left_align {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// `s` cut to at most `width` display cells, ending in `…` when cut.
pub(super) fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` as lines of at most `width` display cells (when given), broken
/// at spaces; later lines indented by `indent` spaces. A word longer than a
/// line (a hash) is broken inside.
pub(super) fn wrap(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return format!("{text}\n");
    };
    let mut out = String::new();
    let mut line = String::new();
    let mut words: Vec<String> = text.split(' ').rev().map(str::to_owned).collect();
    while let Some(word) = words.pop() {
        let sep = usize::from(!line.trim_start().is_empty());
        if line.width() + sep + word.width() <= width {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(&word);
            continue;
        }
        if line.trim_start().is_empty() {
            // A word longer than a whole line: break it where it must.
            let room = width.saturating_sub(line.width()).max(1);
            let mut head = String::new();
            let mut rest = word.chars().peekable();
            while let Some(&c) = rest.peek() {
                if head.width() + c.width().unwrap_or(0) > room && !head.is_empty() {
                    break;
                }
                head.push(c);
                rest.next();
            }
            line.push_str(&head);
            let tail: String = rest.collect();
            if !tail.is_empty() {
                words.push(tail);
            }
        } else {
            words.push(word);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        line = " ".repeat(indent);
    }
    if !line.trim().is_empty() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `s` safe to print on a terminal: every control character (C0, DEL, C1:
/// line feed, carriage return, escape, bell...), the line and paragraph
/// separators and the bidirectional controls written as escapes (`\n`,
/// `\u{1b}`), so that text from the data (a summary, a resolution, a
/// value an input line got wrong) can neither move the cursor, change the
/// terminal, reorder a line, nor forge a line of output. JSON and CSV
/// outputs quote by their own rules instead.
pub(crate) fn printable(s: &str) -> Cow<'_, str> {
    escaped(s, false)
}

/// An id from the data (an agent, a team, a customer, a group key) as
/// people read it: every character the rule for new ids refuses
/// (`caseledger::refused_in_id`: white space, control, format and other
/// invisible characters) written as an escape (`\u{202e}`), and a
/// backslash doubled (`\\`). A store written before format characters
/// were refused may hold ids with them, and shown as they are, `agent-1`
/// followed by U+200B would pass for `agent-1`, and an id starting with
/// U+202E would read backwards as another agent's. The backslash is
/// doubled so that a new id that spells an escape with its own characters
/// (`agent-1\u{200b}`, which the rule allows) does not read as the stored
/// id that escape shows. The terminal tables and the HTML page show ids
/// through this one rule (docs/cli.md, "Ids as people read them").
pub(crate) fn shown_id(s: &str) -> Cow<'_, str> {
    let escaped = |c: char| c == '\\' || caseledger::refused_in_id(c);
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if caseledger::refused_in_id(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`], but line feeds kept: for a text whose lines are meant
/// (a message that says what to do next on lines of its own).
pub(crate) fn printable_lines(s: &str) -> Cow<'_, str> {
    escaped(s, true)
}

fn escaped(s: &str, keep_line_feeds: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_line_feeds && c == '\n'))
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
                    | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' if !keep_line_feeds => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Rows as left-aligned columns two spaces apart, each cell made
/// [`printable`] and padded by display cells (a CJK character takes two):
/// the plain tables of `history` and `follow-ups plan`.
pub(crate) fn columns(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c)).collect())
        .collect();
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.width())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(&pad(cell, widths[c], true));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
