//! Return types named `Result` that are not `Result<T, E>` in that order, on the shape whose
//! fallback is checked for every lifetime (sync, borrowed): the cause is the type's error
//! (`CallError<E>` whatever the alias's parameter order, `io::Result` included).
use cb_runtime::{circuit_breaker, registry, CallError, Rejected, State};

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

mod flipped {
    /// A crate's own alias with the error first.
    pub type Result<E, T> = std::result::Result<T, E>;
}

#[circuit_breaker(name = "pass-flipped", consecutive_failures = 2, fallback = flipped_cached)]
pub fn flipped(key: &str) -> flipped::Result<Error, &str> {
    if key.is_empty() { Err(Error) } else { Ok(key) }
}

fn flipped_cached<'a>(_key: &'a str, cause: CallError<Error>) -> flipped::Result<Error, &'a str> {
    match cause {
        CallError::Inner(Error) => Ok("served"),
        _ => Ok("rejected"),
    }
}

#[circuit_breaker(name = "pass-io-borrowed", fallback = io_cached)]
pub fn first_line(text: &str) -> std::io::Result<&str> {
    text.lines().next().ok_or_else(|| std::io::Error::other("empty"))
}

fn io_cached(_text: &str, _cause: CallError<std::io::Error>) -> std::io::Result<&str> {
    Ok("cached")
}

fn main() {
    assert_eq!(flipped(""), Ok("served"));
    assert_eq!(flipped(""), Ok("served"));
    assert_eq!(registry().get("pass-flipped").unwrap().state(), State::Open);
    assert_eq!(flipped("k"), Ok("rejected"));
    assert_eq!(first_line("").unwrap(), "cached");
    assert_eq!(first_line("a\nb").unwrap(), "a");
}
