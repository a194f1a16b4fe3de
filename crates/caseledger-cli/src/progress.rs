//! Progress bars on stderr, shown only when stderr is a terminal, so that
//! logs and pipes get clean output.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` units (bytes or events), or a spinner when the total
/// is unknown; hidden unless stderr is a terminal.
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            format!("{what} [{{bar:30}}] {{percent}}% {{msg}} ({{elapsed}})"),
        ),
        None => (
            ProgressBar::new_spinner(),
            format!("{what} {{spinner}} {{pos}} {{msg}} ({{elapsed}})"),
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
