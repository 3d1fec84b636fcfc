use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub trait Fetch {
    fn fetch(&self) -> impl std::future::Future<Output = Result<u32, Error>>;
}

pub struct Api;

impl Fetch for Api {
    #[circuit_breaker(name = "x")]
    fn fetch(&self) -> impl std::future::Future<Output = Result<u32, Error>> {
        std::future::ready(Ok(1))
    }
}

fn main() {}
