//! Procedural macros of cb. Use them through `cb_runtime`, which re-exports them.
