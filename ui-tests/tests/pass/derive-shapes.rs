//! Derive shapes from real clients: a borrowed client (`Client<'a>`), const generics, a
//! generic key, a tuple struct with a key, and a trait's associated function taking
//! `name = Self`: each uses its own type's (or instance's) breaker.
use cb_runtime::{circuit_breaker, registry, CircuitProtected, Rejected, State};
use std::fmt::Display;

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Http;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-borrowed-client", consecutive_failures = 1)]
pub struct Client<'a> {
    http: &'a Http,
}

impl<'a> Client<'a> {
    #[circuit_breaker]
    pub fn get(&self, ok: bool) -> Result<&'a Http, Error> {
        if ok { Ok(self.http) } else { Err(Error) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-const-pool", consecutive_failures = 1)]
pub struct Pool<const N: usize>;

impl<const N: usize> Pool<N> {
    #[circuit_breaker]
    pub fn take(&self, ok: bool) -> Result<usize, Error> {
        if ok { Ok(N) } else { Err(Error) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-generic-key", consecutive_failures = 1)]
pub struct Shard<K: Display> {
    #[circuit_breaker(key)]
    id: K,
}

impl<K: Display> Shard<K> {
    #[circuit_breaker]
    pub fn read(&self, ok: bool) -> Result<(), Error> {
        if ok { Ok(()) } else { Err(Error) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-tuple-key", consecutive_failures = 1)]
pub struct Region(#[circuit_breaker(key)] String);

impl Region {
    #[circuit_breaker]
    pub fn ping(&self, ok: bool) -> Result<(), Error> {
        if ok { Ok(()) } else { Err(Error) }
    }
}

pub trait Repo: CircuitProtected {
    #[circuit_breaker(name = Self)]
    fn count(ok: bool) -> Result<u8, Error> {
        if ok { Ok(1) } else { Err(Error) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-repo-users", consecutive_failures = 1)]
pub struct Users;
impl Repo for Users {}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-repo-orders", consecutive_failures = 1)]
pub struct Orders;
impl Repo for Orders {}

fn state(name: &str) -> State {
    registry().get(name).unwrap().state()
}

fn main() {
    let http = Http;
    let client = Client { http: &http };
    assert!(client.get(false).is_err());
    assert_eq!(state("pass-borrowed-client"), State::Open);

    assert_eq!(Pool::<4>.take(false), Err(Error));
    assert_eq!(state("pass-const-pool"), State::Open);

    assert_eq!(Shard { id: 7u32 }.read(false), Err(Error));
    assert_eq!(state("pass-generic-key/7"), State::Open);
    assert_eq!(Shard { id: 8u32 }.read(true), Ok(()));

    assert_eq!(Region("eu".to_owned()).ping(false), Err(Error));
    assert_eq!(state("pass-tuple-key/eu"), State::Open);
    assert_eq!(Region("us".to_owned()).ping(true), Ok(()));

    assert_eq!(Users::count(false), Err(Error));
    assert_eq!(state("pass-repo-users"), State::Open);
    assert_eq!(Orders::count(true), Ok(1), "the other implementor has its own breaker");
}
