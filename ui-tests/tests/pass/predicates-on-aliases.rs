//! `failure_if` / `ignore_if` on `io::Result` (an alias with one argument), a sync borrowed
//! function returning `Result<impl Display, E>` with a fallback, and an async
//! `Option<impl Display>` with a timeout (compiles; its rejection is `None`): each counts what
//! it should.
use cb_runtime::{circuit_breaker, registry, CallError, Rejected, State};
use std::fmt::Display;
use std::io;

fn is_outage(e: &io::Error) -> bool {
    e.kind() != io::ErrorKind::NotFound
}

fn is_interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

#[circuit_breaker(name = "pass-io-predicates", consecutive_failures = 1, failure_if = is_outage, ignore_if = is_interrupted)]
pub fn read(kind: io::ErrorKind) -> io::Result<u8> {
    Err(io::Error::from(kind))
}

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "pass-impl-borrowed", consecutive_failures = 1, fallback = placeholder)]
pub fn title(text: &str) -> Result<impl Display + '_, Error> {
    text.lines().next().ok_or(Error)
}

fn placeholder(_text: &str, _cause: CallError<Error>) -> Result<&'static str, Error> {
    Ok("untitled")
}

#[circuit_breaker(name = "pass-impl-option-timeout", timeout = "50ms", consecutive_failures = 1)]
pub async fn slow(wait: bool) -> Option<impl Display> {
    if wait {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
    Some(1u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let totals = || registry().get("pass-io-predicates").unwrap().snapshot().totals;
    assert!(read(io::ErrorKind::NotFound).is_err());
    assert!(read(io::ErrorKind::Interrupted).is_err());
    assert_eq!((totals().successes, totals().ignored, totals().failures), (1, 1, 0));
    assert!(read(io::ErrorKind::ConnectionRefused).is_err());
    assert_eq!(registry().get("pass-io-predicates").unwrap().state(), State::Open);

    assert_eq!(title("").map(|t| t.to_string()), Ok("untitled".to_owned()));
    assert_eq!(registry().get("pass-impl-borrowed").unwrap().state(), State::Open);

    assert_eq!(slow(false).await.map(|v| v.to_string()), Some("1".to_owned()));
    registry().force_open("pass-impl-option-timeout").unwrap();
    assert!(slow(false).await.is_none(), "rejected: None");
}
