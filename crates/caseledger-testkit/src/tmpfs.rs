//! A real full disk for fault tests: a small tmpfs mounted by the test
//! ([`Tmpfs`]; root only: without root it says why and gives `None`, and
//! CI runs as root) and a filler file that leaves exactly the free space a
//! test wants ([`fill_leaving`]).

use std::path::Path;
use std::process::Command;

/// A tmpfs mounted for one test; unmounted and its mount point removed when
/// dropped (also when the test fails).
#[derive(Debug)]
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes`; `None` (with the reason printed) when
    /// this process is not root, since only root can mount. Running as
    /// root, a mount that fails panics.
    pub fn mount(bytes: u64) -> Option<Tmpfs> {
        if !is_root() {
            eprintln!("skipped: mounting a tmpfs for ENOSPC needs root (CI runs as root)");
            return None;
        }
        let dir = tempfile::tempdir().expect("a mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes}"))
            .arg("caseledger-faults")
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "running as root, yet mounting a tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let out = Command::new("umount").arg(self.dir.path()).output();
        if !out.is_ok_and(|o| o.status.success()) {
            // Busy (a file still open after a failed assertion): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Whether this process runs as root (its effective user id is 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Fills the file system of `filler` so that exactly `free` bytes (a
/// multiple of `page`, the file system's page) stay free: writes until it
/// is full, then gives back `free`. Panics when the file system has less
/// than `free` plus a page to fill.
pub fn fill_leaving(filler: &Path, free: u64, page: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(filler).expect("create the filler");
    let chunk = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => len += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", filler.display()),
        }
    }
    assert!(len >= free + page, "the tmpfs is too small");
    f.set_len(len / page * page - free)
        .expect("give back space");
}
