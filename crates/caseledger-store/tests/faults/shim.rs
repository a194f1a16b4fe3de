//! The fault tests' machinery: building the LD_PRELOAD shim (`shim.c`) and
//! running a scenario under it in a child process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The shim's source, compiled by the tests.
const SHIM_SOURCE: &str = include_str!("shim.c");

/// Builds the shim once per test process with the system C compiler, into
/// Cargo's temporary directory for tests; returns the library's path.
pub fn library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fault-shim");
        std::fs::create_dir_all(&dir).expect("create the shim's directory");
        // One file per process: test binaries build it at the same time.
        let pid = std::process::id();
        let source = dir.join(format!("shim-{pid}.c"));
        let library = dir.join(format!("shim-{pid}.so"));
        std::fs::write(&source, SHIM_SOURCE).expect("write the shim's source");
        let out = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-o"])
            .arg(&library)
            .arg(&source)
            .arg("-ldl")
            .output()
            .expect("run cc (the fault tests need a C compiler)");
        assert!(
            out.status.success(),
            "cc failed to build the fault shim:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        library
    })
}

/// The operations the shim counts (as `shim.c` names them).
pub const OPERATIONS: &[&str] = &[
    "write",
    "fdatasync",
    "fsync",
    "dirsync",
    "create",
    "rename",
    "truncate",
    "unlink",
];

/// What the shim is told to do.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    op: String,
    n: u64,
    errno: String,
    kill: bool,
}

/// Namespace for fault plans.
pub struct Fault;

impl Fault {
    /// Fail the `n`-th call of `op` with `errno` ("EIO" or "ENOSPC").
    pub fn fail(op: &str, n: u64, errno: &str) -> FaultPlan {
        FaultPlan {
            op: op.to_owned(),
            n,
            errno: errno.to_owned(),
            kill: false,
        }
    }

    /// SIGKILL the child just before its `n`-th mutating call.
    pub fn kill(n: u64) -> FaultPlan {
        FaultPlan {
            op: "any".to_owned(),
            n,
            errno: "EIO".to_owned(),
            kill: true,
        }
    }
}

/// The call the shim failed.
#[derive(Debug, Clone)]
pub struct Injected {
    /// Its operation ("write", "fdatasync", ...).
    pub op: String,
    /// The file or directory.
    pub path: String,
}

/// A child's run under the shim.
pub struct ShimRun {
    /// For messages: scenario, fault.
    pub context: String,
    /// The log: the shim's counted calls and the child's report, in order.
    pub lines: Vec<String>,
    /// The call that failed, if one did.
    pub fault: Option<Injected>,
    /// Whether the child died of SIGKILL.
    pub killed: bool,
    /// The store directory (kept until the run is dropped).
    pub store: PathBuf,
    _base: tempfile::TempDir,
}

/// Runs scenario `name` in a child under the shim; `prepare` fills the
/// (empty) store directory first.
pub fn run_child(name: &str, prepare: &dyn Fn(&Path), plan: FaultPlan) -> ShimRun {
    let base = tempfile::tempdir().expect("a temporary directory");
    // The shim compares the kernel's paths (/proc/self/fd) with this one.
    let root = base.path().canonicalize().expect("canonical temp path");
    let store = root.join("store");
    let log = root.join("log");
    std::fs::create_dir(&store).expect("create the store directory");
    prepare(&store);
    std::fs::write(&log, "").expect("create the log");
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "child_fault_scenario",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(
            crate::common::CHILD_ENV,
            format!("{name} {} {}", store.display(), log.display()),
        )
        .env("LD_PRELOAD", library())
        .env("FAULT_DIR", &store)
        .env("FAULT_OP", &plan.op)
        .env("FAULT_N", plan.n.to_string())
        .env("FAULT_ERRNO", &plan.errno)
        .env("FAULT_ACTION", if plan.kill { "kill" } else { "fail" })
        .env("FAULT_LOG", &log)
        .output()
        .expect("run the child");
    let context = format!(
        "{name} scenario, {} of call {} of {}",
        if plan.kill {
            "SIGKILL before"
        } else {
            &plan.errno
        },
        plan.n,
        plan.op
    );
    use std::os::unix::process::ExitStatusExt;
    let killed = out.status.signal() == Some(9);
    assert!(
        out.status.success() || killed,
        "{context}: the child failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).expect("read the log");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let fault = lines.iter().find_map(|l| {
        let rest = l.strip_prefix("FAIL ")?;
        let mut parts = rest.splitn(3, ' ');
        let op = parts.next()?.to_owned();
        let _n = parts.next()?;
        let path = parts.next()?.to_owned();
        Some(Injected { op, path })
    });
    ShimRun {
        context,
        lines,
        fault,
        killed,
        store,
        _base: base,
    }
}

/// Runs scenario `name` under the shim without a fault; returns how many
/// calls of each operation it made under the store directory.
pub fn count_calls(name: &str, prepare: &dyn Fn(&Path)) -> BTreeMap<String, u64> {
    let run = run_child(name, prepare, Fault::fail("none", 0, "EIO"));
    let mut counts = BTreeMap::new();
    for line in &run.lines {
        let mut parts = line.split(' ');
        let (Some(op), Some(n)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !OPERATIONS.contains(&op) {
            continue;
        }
        if let Ok(n) = n.parse::<u64>() {
            let c = counts.entry(op.to_owned()).or_insert(0);
            *c = (*c).max(n);
        }
    }
    assert!(
        counts.contains_key("write"),
        "{name}: the shim counted no write; is it loaded?\n{}",
        run.lines.join("\n")
    );
    counts
}
