use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = Self)]
pub fn ping() -> Result<(), Error> {
    Ok(())
}

pub struct Plain;

impl Plain {
    #[circuit_breaker(name = Self)]
    pub fn open(url: &str) -> Result<u8, Error> {
        let _ = url;
        Ok(0)
    }
}

fn main() {}
