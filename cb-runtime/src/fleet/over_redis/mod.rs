//! The Redis backend (feature `redis`; `rediss://` with feature `redis-tls`); the key layout
//! and guarantees are described in the module docs of [`fleet`](crate::fleet).

pub(crate) mod agent;
mod errors;
mod keys;
mod scripts;
