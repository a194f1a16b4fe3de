//! A test binary run again as a child process, so that a test can kill it
//! (SIGKILL) or run it beside itself: the child runs one test of the same
//! binary, which finds its argument in [`CHILD_ENV`] and does the child's
//! work; in the parent's own run that test finds no argument and returns.
//!
//! ```no_run
//! #[test]
//! fn child_appender() {
//!     let Some(dir) = caseledger_testkit::child::child_arg() else { return };
//!     // ... append to the store in `dir`, print a line per acknowledgement
//! }
//! // In the parent: caseledger_testkit::child::spawn_child("child_appender", "/tmp/store")
//! ```

use std::process::{Child, Command, Stdio};

/// The environment variable that makes a test of a test binary act as a
/// child, holding its argument.
pub const CHILD_ENV: &str = "CASELEDGER_TEST_CHILD";

/// Runs the test `name` of the current test binary as a child process with
/// [`CHILD_ENV`] set to `arg`, its stdout piped (the child's answers) and
/// its stderr the parent's.
pub fn spawn_child(name: &str, arg: &str) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(&exe)
        .args([
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_ENV, arg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} as a child: {e}", exe.display()))
}

/// The child's argument, when this process is a child; `None` in the
/// parent's run.
pub fn child_arg() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Waits for each child, asserting it succeeded, and returns the lines of
/// their stdout that start with `prefix`, child by child.
pub fn child_lines(children: Vec<Child>, prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for child in children {
        let out = child
            .wait_with_output()
            .expect("wait for a child test process");
        assert!(out.status.success(), "a child failed: {:?}", out.status);
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with(prefix))
                .map(str::to_owned),
        );
    }
    lines
}
