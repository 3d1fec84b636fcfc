#![deny(unused_must_use)]

/// README, Configuration file: "`cb_runtime::config::watch(path)` reloads on change". Written as
/// a statement, the returned `Watcher` is dropped at once, which stops the watching thread:
/// the file is never reloaded and nothing says so. `watch` should be `#[must_use]`.
fn main() {
    cb_runtime::config::watch("circuit_breakers.toml");
}
