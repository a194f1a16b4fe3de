//! The single appender's direct path, for the blocking [`crate::PgLog`]:
//! an append made while no other append of the process is in flight is
//! written on the calling thread, on a connection of its own driven by a
//! current-thread runtime of its own, instead of being handed to the
//! writer task.
//!
//! Why: the group commit costs a lone appender hand-offs between threads
//! (the caller to the writer task, the writer to the pool connection's
//! task and back for each pipelined round trip, the answer back to the
//! caller), each a wake-up that waits for a CPU on a loaded machine. Here
//! the caller's thread sends the statements, reads the answers and plans
//! the append itself, as a plain client's loop does. The transaction is the
//! writer's, statement for statement ([`write_group_on`] with a group of
//! one), so every guarantee is the same: the head row's lock orders this
//! transaction with the writer's and with other processes', as it orders
//! any two appenders.
//!
//! When another append is in flight (threads appending at once), appends
//! go to the writer, which groups them into one transaction.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use caseledger::AppendError;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::config::Clock;
use crate::error::{Error, ErrorKind};
use crate::writer::{Append, Outcome, Statements, write_group_on};

/// A new connection: the client, and the connection's future, which must
/// be driven for the client to get answers.
pub(crate) type Connected = (
    tokio_postgres::Client,
    Pin<Box<dyn Future<Output = ()> + Send>>,
);

/// Opens a new connection to the log's server, with the log's TLS.
pub(crate) type ConnectFn = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Connected, tokio_postgres::Error>> + Send>>
        + Send
        + Sync,
>;

/// The direct path's runtime and connection (opened on first use, closed
/// after a failed append, opened again on the next).
pub(crate) struct Direct {
    /// `Some` until dropped; shut down in the background on drop.
    runtime: Option<Runtime>,
    conn: Option<Conn>,
}

/// The direct path's connection and its prepared statements.
struct Conn {
    client: tokio_postgres::Client,
    statements: Statements,
    task: JoinHandle<()>,
}

impl Drop for Direct {
    fn drop(&mut self) {
        // The connection's task ends with the runtime.
        self.conn = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Direct {
    /// A direct path with no connection yet.
    pub(crate) fn new() -> Result<Direct, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
        Ok(Direct {
            runtime: Some(runtime),
            conn: None,
        })
    }

    /// Writes `append` in a transaction of its own on this path's
    /// connection, on the calling thread, which must not be inside a tokio
    /// runtime (its `block_on` would panic there).
    pub(crate) fn append(
        &mut self,
        connect: &ConnectFn,
        connect_timeout: Duration,
        clock: Clock,
        append: &Append,
    ) -> Outcome {
        let Direct { runtime, conn } = self;
        let Some(runtime) = runtime else {
            return Err(AppendError::Log(Error::new(ErrorKind::WriterStopped)));
        };
        runtime.block_on(async {
            if conn.is_none() {
                *conn = Some(
                    open(connect, connect_timeout)
                        .await
                        .map_err(AppendError::Log)?,
                );
            }
            let Some(c) = conn.as_ref() else {
                // Set just above.
                return Err(AppendError::Log(Error::new(ErrorKind::WriterStopped)));
            };
            match write_group_on(&c.client, &c.statements, clock, &[append]).await {
                // One answer per append of the group, which holds one.
                Ok(outcomes) => outcomes
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Err(AppendError::Log(Error::new(ErrorKind::WriterStopped)))),
                Err(e) => {
                    // The connection may be inside the failed transaction:
                    // close it, so that the server rolls the transaction
                    // back, and open a new one for the next append.
                    if let Some(c) = conn.take() {
                        close(c, connect_timeout).await;
                    }
                    Err(AppendError::Log(e))
                }
            }
        })
    }
}

/// Connects and prepares the append statements (inside the direct path's
/// runtime, so that the socket belongs to it).
async fn open(connect: &ConnectFn, connect_timeout: Duration) -> Result<Conn, Error> {
    let connected = tokio::time::timeout(connect_timeout, connect())
        .await
        .map_err(|_| Error::connect_timeout(connect_timeout))?
        .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
    let (client, connection) = connected;
    let task = tokio::spawn(connection);
    match Statements::prepare_plain(&client).await {
        Ok(statements) => Ok(Conn {
            client,
            statements,
            task,
        }),
        Err(e) => {
            drop(client);
            let _ = tokio::time::timeout(connect_timeout, task).await;
            Err(e)
        }
    }
}

/// Closes a connection: without its client, the connection's task says
/// goodbye to the server and ends (or fails on a broken socket).
async fn close(conn: Conn, connect_timeout: Duration) {
    let Conn { client, task, .. } = conn;
    drop(client);
    // Bounded: a server that does not answer is left to notice the
    // closed socket when the runtime drops the task.
    let _ = tokio::time::timeout(connect_timeout, task).await;
}
