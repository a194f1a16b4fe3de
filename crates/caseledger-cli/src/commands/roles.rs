//! `--roles FILE` and `--strict` of `verify` and `report`: the role
//! directory read from its file, and the permission findings of the
//! history (docs/permissions.md) as each format shows them. The scan
//! itself is the domain's `PermissionAudit`, fed by each backend's walk.

use std::path::Path;

use anyhow::{Result, anyhow};
use caseledger::permission::{
    Finding, MAX_ROLE_DIRECTORY_JSON_BYTES, PermissionAudit, Permissions, RoleDirectory,
};

use super::output::count;

/// Reads the role directory of `--roles FILE`, with the default table.
pub fn read(path: &Path) -> Result<Permissions> {
    let text = super::input::read_small(path, MAX_ROLE_DIRECTORY_JSON_BYTES, "role directory")?;
    let directory = RoleDirectory::from_json(&text).map_err(|e| {
        let words = format!("invalid role directory {}: {e}", path.display());
        anyhow::Error::new(e).context(words)
    })?;
    Ok(Permissions::new(directory))
}

/// A fresh audit against `permissions`, when `--roles` was given.
pub fn audit(permissions: Option<&Permissions>) -> Option<PermissionAudit> {
    permissions.map(|p| PermissionAudit::new(p.clone()))
}

/// The text form: a count line, then one line per finding.
pub fn text(findings: &[Finding]) -> String {
    let mut s = format!("permission findings: {}\n", findings.len());
    for f in findings {
        s.push_str(&format!(
            "  position {}, case {}: `{}` may not `{}` ({})\n",
            f.position, f.case_id, f.actor, f.action, f.rule
        ));
    }
    s
}

/// `--strict`: an error (exit status 1) when there is any finding.
pub fn strict(findings: Option<&[Finding]>, strict: bool) -> Result<()> {
    match findings {
        Some(f) if strict && !f.is_empty() => Err(anyhow!(
            "--strict: {} whose actor lacked the permission (listed above)",
            count(f.len() as u64, "event")
        )),
        _ => Ok(()),
    }
}
