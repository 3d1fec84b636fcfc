use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "name-self-constant")]
pub struct Audit;

impl Audit {
    const NAME: &'static str = "audit";

    #[circuit_breaker(name = Self::NAME)]
    pub fn record(&self) -> Result<(), Error> {
        Ok(())
    }
}

fn main() {}
