//! `#[circuit_breaker]` on inherent methods taking `&self`, `&mut self` and `self`, with
//! fallbacks that are methods too (`Self::f`, inferred from the receiver).
//!
//! Run: `cargo run --example macro_methods`

use cb_runtime::{CallError, Rejected, circuit_breaker};

#[derive(Debug, Clone)]
struct PaymentError(&'static str);

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<Rejected> for PaymentError {
    fn from(_: Rejected) -> Self {
        PaymentError("payments circuit open")
    }
}

#[derive(Clone)]
struct Payments {
    declines_left: u32,
    charged: u64,
}

impl Payments {
    /// `&mut self`: charges, failing while declines remain.
    #[circuit_breaker(name = "payments", consecutive_failures = 3, open_timeout = "30s")]
    fn charge(&mut self, cents: u64) -> Result<u64, PaymentError> {
        if self.declines_left > 0 {
            self.declines_left -= 1;
            return Err(PaymentError("card declined by provider"));
        }
        self.charged += cents;
        Ok(self.charged)
    }

    /// `&self` with a fallback method that also receives the cause.
    #[circuit_breaker(name = "payments-status", fallback = last_known_status)]
    fn status(&self, order: u32) -> Result<String, PaymentError> {
        if self.declines_left > 0 {
            Err(PaymentError("status API down"))
        } else {
            Ok(format!("order {order}: paid"))
        }
    }

    fn last_known_status(&self, order: u32, cause: CallError<PaymentError>) -> Result<String, PaymentError> {
        Ok(format!("order {order}: pending (cached, because {cause:?})"))
    }

    /// `self` by value: the receiver is cloned for the fallback only because one is configured.
    #[circuit_breaker(name = "payments-receipt", fallback = Self::plain_receipt)]
    fn into_receipt(self, order: u32) -> Result<String, PaymentError> {
        Ok(format!("receipt for order {order}: {} cents", self.charged))
    }

    fn plain_receipt(self, order: u32) -> Result<String, PaymentError> {
        Ok(format!("receipt for order {order}"))
    }
}

fn main() {
    let mut payments = Payments {
        declines_left: 4,
        charged: 0,
    };
    for attempt in 1..=5 {
        match payments.charge(1_000) {
            Ok(total) => println!("charge #{attempt}: ok, {total} cents charged"),
            Err(e) => println!("charge #{attempt}: {e}"),
        }
    }
    println!("{:?}", payments.status(7));
    payments.declines_left = 0;
    println!("{:?}", payments.status(7));
    println!("{:?}", payments.into_receipt(7));
}
