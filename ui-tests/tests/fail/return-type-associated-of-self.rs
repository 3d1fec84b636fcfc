use cb_runtime::{circuit_breaker, CircuitProtected};

pub trait Service: CircuitProtected {
    type Output;

    fn run(&self) -> Self::Output;

    #[circuit_breaker]
    fn call(&self) -> Self::Output {
        self.run()
    }
}

fn main() {}
