//! A small HTTP service (axum, on tokio) over the async case service and
//! the file store on tokio's blocking pool: `POST /cases/{case_id}/commands`
//! executes a command on a case, `GET /cases/{case_id}` reads the case.
//!
//! Like every example it runs to completion on its own: it serves on a
//! loopback port, sends itself a few requests over a real socket (a case
//! from intake to resolution, a retry of a command with the same event id,
//! a refused command, a read), checks the answers, and exits.
//!
//! Run: `cargo run --example axum_service --features caseledger-async/tokio`
//! (the example needs the `tokio` feature of `caseledger-async`).

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use caseledger::{
    Action, Actor, AppendError, CaseId, Category, Channel, Classified, Command, CustomerId,
    EventId, IdSource, Opened, Outcome, Priority, Resolved, ServiceError, Tier, Topic,
    parse_timestamp,
};
use caseledger_async::{AsyncCaseService, Blocking, BlockingError};
use caseledger_ids::UuidV7Ids;
use caseledger_store::{Store, StoreOptions};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The service every handler shares.
type Service = AsyncCaseService<Blocking<Store>, UuidV7Ids>;

/// A command as it comes over HTTP. `event_id` is the caller's idempotency
/// key: send the same one again to retry safely (a fresh one is taken when
/// it is missing). `at` is the time of the command (RFC 3339): the caller's
/// clock, as the domain reads none.
#[derive(Debug, Deserialize)]
struct CommandRequest {
    event_id: Option<String>,
    at: String,
    actor: String,
    #[serde(flatten)]
    action: ActionRequest,
}

/// The actions this service offers (a few of the domain's).
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum ActionRequest {
    Open {
        customer_id: String,
        channel: String,
        tier: String,
    },
    Classify {
        category: String,
        topic: String,
        priority: String,
    },
    Respond,
    Resolve {
        resolution: Option<String>,
    },
}

/// An HTTP answer with a JSON body.
struct Answer(StatusCode, Value);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

fn bad_request(what: impl std::fmt::Display) -> Answer {
    Answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": what.to_string() }),
    )
}

impl CommandRequest {
    /// The domain command, or why the request is malformed.
    fn command(self, case_id: CaseId, ids: &UuidV7Ids) -> Result<Command, Answer> {
        let event_id = match self.event_id {
            Some(id) => id.parse::<EventId>().map_err(bad_request)?,
            None => ids.next_event_id(),
        };
        let action = match self.action {
            ActionRequest::Open {
                customer_id,
                channel,
                tier,
            } => Action::Open(Opened {
                customer_id: CustomerId::new(&customer_id).map_err(bad_request)?,
                channel: Channel::parse(&channel).map_err(bad_request)?,
                tier: Tier::parse(&tier).map_err(bad_request)?,
                summary: None,
                origin: caseledger::Origin::Customer,
            }),
            ActionRequest::Classify {
                category,
                topic,
                priority,
            } => Action::Classify(Classified {
                category: Category::parse(&category).map_err(bad_request)?,
                topic: Topic::parse(&topic).map_err(bad_request)?,
                priority: Priority::parse(&priority).map_err(bad_request)?,
            }),
            ActionRequest::Respond => Action::Respond,
            ActionRequest::Resolve { resolution } => Action::Resolve(Resolved {
                resolution,
                root_cause: None,
            }),
        };
        Ok(Command {
            case_id,
            event_id,
            at: parse_timestamp(&self.at).map_err(bad_request)?,
            actor: Actor::parse(&self.actor).map_err(bad_request)?,
            action,
        })
    }
}

/// `POST /cases/{case_id}/commands`.
async fn execute(
    State(service): State<Arc<Service>>,
    Path(case_id): Path<String>,
    axum::Json(request): axum::Json<CommandRequest>,
) -> Answer {
    let case_id = match case_id.parse::<CaseId>() {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    let command = match request.command(case_id, &UuidV7Ids::new()) {
        Ok(command) => command,
        Err(answer) => return answer,
    };
    match service.execute_command(command).await {
        Ok(outcome) => Answer(StatusCode::OK, outcome_json(case_id, &outcome)),
        Err(e) => refusal(&e),
    }
}

fn outcome_json(case_id: CaseId, outcome: &Outcome) -> Value {
    json!({
        "case_id": case_id.to_string(),
        "version": outcome.state.version(),
        "status": outcome.state.status(),
        "positions": outcome.positions,
        "already_recorded": outcome.already_recorded,
    })
}

/// The HTTP status of each refusal (docs/embedding.md, "Errors, and what
/// to do").
fn refusal(e: &ServiceError<BlockingError<caseledger_store::Error>>) -> Answer {
    let status = match e {
        // The command breaks a rule or the bank's policy: the caller's to
        // change, not a failure of the service.
        ServiceError::Rule(_) | ServiceError::Process(_) | ServiceError::Extension { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        // Only with a role directory (`with_permissions`).
        ServiceError::NotPermitted(_) => StatusCode::FORBIDDEN,
        ServiceError::FollowUpCap(_)
        | ServiceError::Append(AppendError::IdempotencyKeyReused { .. }) => StatusCode::CONFLICT,
        ServiceError::Append(_) => StatusCode::BAD_REQUEST,
        ServiceError::Contention { .. } => StatusCode::SERVICE_UNAVAILABLE,
        // InvalidHistory, Log, and any refusal a later version adds.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Answer(status, json!({ "error": e.to_string() }))
}

/// `GET /cases/{case_id}`: the case's state, 404 if it has no event.
async fn read(State(service): State<Arc<Service>>, Path(case_id): Path<String>) -> Answer {
    let case_id = match case_id.parse::<CaseId>() {
        Ok(id) => id,
        Err(e) => return bad_request(e),
    };
    match service.state(case_id).await {
        Ok(state) if state.version() == 0 => {
            Answer(StatusCode::NOT_FOUND, json!({ "error": "no such case" }))
        }
        Ok(state) => Answer(StatusCode::OK, json!(state)),
        Err(e) => refusal(&e),
    }
}

/// The HTTP service.
fn app(service: Arc<Service>) -> Router {
    Router::new()
        .route("/cases/{case_id}", get(read))
        .route("/cases/{case_id}/commands", post(execute))
        .with_state(service)
}

/// One HTTP/1.1 request over a new connection: the status and the body.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<(u16, Value), Box<dyn Error>> {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let (_, body) = response.split_once("\r\n\r\n").ok_or("no body")?;
    Ok((status, serde_json::from_str(body)?))
}

/// Serves, sends the requests, checks the answers, stops.
pub async fn run() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), StoreOptions::default())?;
    let service = Arc::new(AsyncCaseService::new(
        Blocking::new(store),
        UuidV7Ids::new(),
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(service))
            .with_graceful_shutdown(async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            })
            .into_future(),
    );
    println!("serving on http://{addr}");

    let case = UuidV7Ids::new().new_case_id();
    let commands = format!("/cases/{case}/commands");
    let agent = |at: &str, action: Value| {
        let mut body = json!({ "at": at, "actor": "agent-17" });
        if let (Some(body), Some(action)) = (body.as_object_mut(), action.as_object()) {
            body.extend(action.clone());
        }
        body
    };
    let steps = [
        agent(
            "2026-03-02T09:15:00Z",
            json!({ "action": "open", "customer_id": "C-1001", "channel": "phone", "tier": "vip" }),
        ),
        agent(
            "2026-03-02T09:20:00Z",
            json!({ "action": "classify", "category": "inquiry", "topic": "card", "priority": "high" }),
        ),
        agent("2026-03-02T10:00:00Z", json!({ "action": "respond" })),
    ];
    for (i, body) in steps.iter().enumerate() {
        let (status, answer) = request(addr, "POST", &commands, body).await?;
        println!("POST {commands} {} -> {status} {answer}", body["action"]);
        expect(
            status == 200 && answer["version"] == i + 1,
            "a recorded command",
        )?;
    }
    // The caller's idempotency key: sent twice, recorded once.
    let key = UuidV7Ids::new().next_event_id().to_string();
    let mut resolve = agent(
        "2026-03-02T11:00:00Z",
        json!({ "action": "resolve", "resolution": "card unblocked" }),
    );
    resolve["event_id"] = json!(key);
    let (status, first) = request(addr, "POST", &commands, &resolve).await?;
    println!("POST resolve -> {status} {first}");
    expect(
        status == 200 && first["already_recorded"] == false,
        "resolved",
    )?;
    let (status, again) = request(addr, "POST", &commands, &resolve).await?;
    println!("POST resolve again (same event id) -> {status} {again}");
    expect(
        status == 200
            && again["already_recorded"] == true
            && again["positions"] == first["positions"],
        "a retry answered with the original position",
    )?;
    // A broken rule: a case is opened once.
    let mut open_again = steps[0].clone();
    open_again["at"] = json!("2026-03-02T12:00:00Z");
    let (status, refused) = request(addr, "POST", &commands, &open_again).await?;
    println!("POST open the case again -> {status} {refused}");
    expect(status == 422, "a broken rule is refused")?;
    // A malformed command.
    let bad = agent(
        "2026-03-02T12:00:00Z",
        json!({ "action": "open", "customer_id": "C-1", "channel": "pigeon", "tier": "vip" }),
    );
    let (status, refused) = request(addr, "POST", &commands, &bad).await?;
    println!("POST with an unknown channel -> {status} {refused}");
    expect(status == 400, "a malformed command is refused")?;
    // Read the case.
    let (status, state) = request(addr, "GET", &format!("/cases/{case}"), &Value::Null).await?;
    println!("GET /cases/{case} -> {status} {state}");
    expect(
        status == 200 && state["version"] == 4,
        "the case, at version 4",
    )?;
    let (status, _) = request(
        addr,
        "GET",
        &format!("/cases/{}", CaseId::from_u128(7)),
        &Value::Null,
    )
    .await?;
    expect(status == 404, "an unknown case is not found")?;

    let _ = stop.send(());
    server.await??;
    println!("ok: served 9 requests over {addr} and stopped");
    Ok(())
}

fn expect(holds: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if holds {
        Ok(())
    } else {
        Err(format!("expected {what}").into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    run().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger::complaint::ExtensionRefused;

    /// A deadline extension the complaint policy refuses is the caller's
    /// mistake (422), like any other refusal, not a server error.
    #[test]
    fn a_refused_extension_is_unprocessable_not_a_server_error() {
        let refused: ServiceError<BlockingError<caseledger_store::Error>> =
            ServiceError::Extension {
                case_id: CaseId::from_u128(7),
                reason: ExtensionRefused::NotAComplaint,
            };
        assert_eq!(refusal(&refused).0, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
