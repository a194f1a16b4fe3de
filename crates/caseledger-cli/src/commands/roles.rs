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
use crate::render::{printable, shown_id};

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

/// The text form: a count line, then one line per finding; a
/// separation-of-duties finding says why, naming the approver or reviewer
/// (the actor may hold the action's role: the event broke the rule, not
/// the table). Ids are shown as people read them (`shown_id`), so an id
/// stored before the id rule cannot drive the terminal.
pub fn text(findings: &[Finding]) -> String {
    let mut s = format!("permission findings: {}\n", findings.len());
    for f in findings {
        let rule = match (f.why(), &f.named) {
            (Some(why), Some(named)) => {
                // The words name the agent raw, between backquotes.
                let (raw, shown) = (named.as_str(), shown_id(named.as_str()));
                let why = why.replace(&format!("`{raw}`"), &format!("`{shown}`"));
                format!("{}: {}", f.rule, printable(&why))
            }
            (Some(why), None) => format!("{}: {}", f.rule, printable(&why)),
            (None, _) => f.rule.to_string(),
        };
        s.push_str(&format!(
            "  position {}, case {}: `{}` may not `{}` ({rule})\n",
            f.position,
            f.case_id,
            shown_id(&f.actor.to_string()),
            f.action,
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
