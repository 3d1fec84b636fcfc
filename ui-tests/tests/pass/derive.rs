use cb_runtime::{circuit_breaker, CircuitProtected, Rejected, State, Timeout};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-derive", preset = "lenient", open_timeout = "10s")]
pub struct Client;

impl Client {
    #[circuit_breaker(timeout = "2s")]
    pub async fn get(&self) -> Result<u8, Error> {
        Ok(1)
    }

    #[circuit_breaker(consecutive_failures = 7)]
    pub fn get_sync(&mut self) -> Result<u8, Error> {
        Ok(1)
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-keyed")]
pub struct Keyed<T> {
    #[circuit_breaker(key)]
    pub tenant: u64,
    pub inner: T,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-tuple")]
pub struct Tuple(#[circuit_breaker(key)] pub String);

impl<T> Keyed<T> {
    #[circuit_breaker]
    pub fn call(&self) -> Result<u8, Error> {
        Ok(1)
    }
}

fn main() {
    let _ = Client.get();
    let _ = Client.get_sync();
    let _: State = Client.circuit_state();
    let k = Keyed { tenant: 7, inner: () };
    let _ = k.call();
    assert_eq!(k.circuit_breaker_name(), "pass-keyed/7");
    assert_eq!(Tuple("a".into()).circuit_breaker_name(), "pass-tuple/a");
}
