//! Laying text out in display cells: padding, cutting, wrapping.

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
