//! Compile-time tests of cb's macros live in `tests/`; this library is empty on purpose.
