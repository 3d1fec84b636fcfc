//! README, Configuration file, "Nothing silent": a file that cannot be applied at discovery
//! (first use of `registry()`) "reaches stderr once even with no tracing subscriber, is an
//! `Event::ConfigRejected`, and shows in `registry().config_status()`". A new user subscribes
//! the way README shows, `registry().subscribe_to(..)`, but that call is the first use of
//! `registry()`: discovery runs and emits the event before the subscription exists, so no
//! subscriber of the global registry can ever see the startup rejection.
//! (Its own binary: it must run before anything else touches the global registry.)

use cb_runtime::{Event, Interest, registry};

#[test]
fn a_subscriber_sees_the_startup_rejection_of_the_config_file() {
    let dir = std::env::temp_dir().join(format!("cb-adopt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("circuit_breakers.toml");
    std::fs::write(&file, "[breakers.x]\nopen_timout = \"10s\"\n").unwrap();
    // SAFETY: the only test of this binary; nothing reads the environment concurrently.
    unsafe { std::env::set_var("CB_CONFIG", &file) };

    let mut events = registry().subscribe_to(Interest::Everything);
    assert!(!registry().config_status().is_ok(), "{}", registry().config_status());
    let mut seen = Vec::new();
    while let Some(e) = events.try_recv() {
        seen.push(format!("{e:?}"));
        if matches!(e, Event::ConfigRejected { .. }) {
            return;
        }
    }
    panic!("the startup ConfigRejected event reached no subscriber; events seen: {seen:?}");
}
