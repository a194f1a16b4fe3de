//! The subcommands. Each opens the store the way it needs (read-only for
//! everything that only reads) and writes its output to stdout; `main.rs`
//! dispatches to them.

pub mod bench;
pub mod cases;
pub mod copy;
pub mod copy_io;
pub mod export;
pub mod follow_ups;
pub mod generate;
pub mod import;
pub mod import_check;
pub mod import_reject;
pub mod input;
pub mod line;
pub mod open;
pub mod output;
pub mod pg;
pub mod report;
pub mod roles;
pub mod verify;
