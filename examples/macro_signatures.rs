//! Signatures as services write them: a `Result` alias with a fallback, an `Option` lookup, a
//! trait default method that runs on each implementor's own breaker, and an associated
//! function of a `CircuitProtected` type.
//!
//! Run: `cargo run --example macro_signatures`

use cb_runtime::{CallError, CircuitProtected, Rejected, circuit_breaker, registry};

#[derive(Debug)]
enum StoreError {
    Down,
    Open,
}

impl From<Rejected> for StoreError {
    fn from(_: Rejected) -> Self {
        StoreError::Open
    }
}

/// How the service spells its results: still a `Result` to the breaker.
type Fallible<T> = Result<T, StoreError>;

/// A price that is always down: its `Err`s trip the breaker and reach the fallback.
#[circuit_breaker(name = "example-prices", consecutive_failures = 2, fallback = last_price)]
fn price(sku: u32) -> Fallible<u32> {
    let _ = sku;
    Err(StoreError::Down)
}

fn last_price(sku: u32, cause: CallError<StoreError>) -> Fallible<u32> {
    println!("  price of {sku} from the cache ({cause:?})");
    Ok(99)
}

/// `None` is an answer, not a failure; a rejection is `None` too.
#[circuit_breaker(name = "example-users", consecutive_failures = 2)]
fn user(id: u32) -> Option<&'static str> {
    (id == 1).then_some("ada")
}

/// Every store checks its health through the same default method, on its own breaker.
trait Health: CircuitProtected {
    fn up(&self) -> bool;

    #[circuit_breaker]
    fn check(&self) -> Fallible<()> {
        if self.up() { Ok(()) } else { Err(StoreError::Down) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "example-primary", consecutive_failures = 2)]
struct Primary;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "example-replica", consecutive_failures = 2)]
struct Replica;

impl Health for Primary {
    fn up(&self) -> bool {
        false
    }
}

impl Health for Replica {
    fn up(&self) -> bool {
        true
    }
}

impl Replica {
    /// No receiver: `name = Self` takes the type's breaker (a signature that names `Self`,
    /// such as `-> Fallible<Self>`, may leave `name` out).
    #[circuit_breaker(name = Self)]
    fn connect(url: &str) -> Fallible<Replica> {
        let _ = url;
        Ok(Replica)
    }
}

fn main() {
    for _ in 0..3 {
        println!("price: {:?}", price(7));
    }
    println!(
        "example-prices is {}",
        registry().get("example-prices").unwrap().state()
    );
    for id in [2, 2, 2, 1] {
        println!("user {id}: {:?}", user(id));
    }
    println!(
        "example-users is {} (None is no failure)",
        registry().get("example-users").unwrap().state()
    );
    let (primary, replica) = (Primary, Replica::connect("replica:5432").unwrap());
    for _ in 0..3 {
        println!("primary: {:?}, replica: {:?}", primary.check(), replica.check());
    }
    println!(
        "primary is {}, replica is {}",
        primary.circuit_state(),
        replica.circuit_state()
    );
}
