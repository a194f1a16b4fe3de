//! The PostgreSQL store from the command line.

use crate::exit::UsageError;
use crate::location::PgUrl;

/// The error of a command that does not (yet) serve a PostgreSQL store.
pub fn not_served(url: &PgUrl) -> anyhow::Error {
    anyhow::Error::new(UsageError(format!(
        "--store {url}: this command works on a store directory only, not yet on a PostgreSQL \
         database"
    )))
}
