//! What the integration tests of cb-runtime's features share.
#![allow(dead_code, unreachable_pub)]

pub mod backend;
