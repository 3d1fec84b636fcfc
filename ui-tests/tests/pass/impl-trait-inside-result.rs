//! The axum handler shape `Result<impl IntoResponse, E>` (and `Option<impl Trait>`): the
//! generated code names the type with `_` for the `impl Trait`, so the `Err` still counts and
//! still reaches the fallback, which returns the concrete type.
use cb_runtime::{circuit_breaker, registry, CallError, Rejected, State};
use std::fmt::Display;

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "pass-impl-in-result", consecutive_failures = 2, fallback = cached)]
pub async fn handler(ok: bool) -> Result<impl Display, Error> {
    if ok { Ok(1u8) } else { Err(Error) }
}

async fn cached(_ok: bool, cause: CallError<Error>) -> Result<u8, Error> {
    match cause {
        CallError::Inner(_) => Ok(7),
        _ => Ok(9),
    }
}

#[circuit_breaker(name = "pass-impl-in-result-sync", consecutive_failures = 1)]
pub fn render(ok: bool) -> Result<impl Display + use<>, Error> {
    if ok { Ok("page") } else { Err(Error) }
}

#[circuit_breaker(name = "pass-impl-nested", consecutive_failures = 1)]
pub fn list(ok: bool) -> Result<Vec<impl Display>, Error> {
    if ok { Ok(vec![1u8]) } else { Err(Error) }
}

#[circuit_breaker(name = "pass-impl-in-option")]
pub fn maybe(ok: bool) -> Option<impl Display> {
    ok.then_some(3u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(handler(true).await.map(|v| v.to_string()), Ok("1".to_owned()));
    assert_eq!(handler(false).await.map(|v| v.to_string()), Ok("7".to_owned()));
    assert_eq!(handler(false).await.map(|v| v.to_string()), Ok("7".to_owned()));
    assert_eq!(registry().get("pass-impl-in-result").unwrap().state(), State::Open);
    assert_eq!(handler(true).await.map(|v| v.to_string()), Ok("9".to_owned()));
    assert!(render(false).is_err());
    assert_eq!(registry().get("pass-impl-in-result-sync").unwrap().state(), State::Open);
    assert!(matches!(render(true), Err(Error)), "rejected");
    assert!(list(false).is_err());
    assert!(matches!(list(true), Err(Error)), "rejected");
    assert_eq!(maybe(true).map(|v| v.to_string()), Some("3".to_owned()));
}
