//! `name` as an identifier of a constant passed through `macro_rules!`, and an associated
//! constructor of a keyed type (family name) with `name = Self`.
use cb_runtime::{circuit_breaker, registry, CircuitProtected, Rejected, State};

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const LEDGER: &str = "pass-ident-ledger";

macro_rules! protected {
    ($fn_name:ident, $name:ident, $fails:tt) => {
        #[circuit_breaker(name = $name, consecutive_failures = $fails)]
        pub fn $fn_name(ok: bool) -> Result<(), Error> {
            if ok { Ok(()) } else { Err(Error) }
        }
    };
}

protected!(post, LEDGER, 1);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-keyed-ctor", consecutive_failures = 1)]
pub struct Tenant {
    #[circuit_breaker(key)]
    id: String,
}

impl Tenant {
    const AUDIT: &'static str = "pass-assoc-const-audit";

    #[circuit_breaker(name = Tenant::AUDIT)]
    pub fn audit(&self) -> Result<(), Error> {
        Err(Error)
    }

    #[circuit_breaker]
    pub fn connect(id: &str, ok: bool) -> Result<Self, Error> {
        if ok { Ok(Tenant { id: id.to_owned() }) } else { Err(Error) }
    }

    #[circuit_breaker(name = Self)]
    pub fn count(ok: bool) -> Result<usize, Error> {
        if ok { Ok(1) } else { Err(Error) }
    }
}

fn main() {
    assert_eq!(post(false), Err(Error));
    assert_eq!(registry().get(LEDGER).unwrap().state(), State::Open);
    assert_eq!(post(true), Err(Error), "rejected");
    let tenant = Tenant { id: "t0".to_owned() };
    assert_eq!(tenant.audit(), Err(Error));
    assert_eq!(registry().get("pass-assoc-const-audit").unwrap().snapshot().totals.failures, 1);
    assert!(Tenant::connect("t1", false).is_err());
    assert_eq!(registry().get("pass-keyed-ctor").unwrap().state(), State::Open);
    assert_eq!(Tenant::count(true), Err(Error), "the family's breaker rejects");
}
