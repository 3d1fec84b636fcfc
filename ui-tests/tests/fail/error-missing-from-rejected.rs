use cb_runtime::circuit_breaker;

#[derive(Debug)]
pub struct Error;

#[circuit_breaker(name = "x")]
pub fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
