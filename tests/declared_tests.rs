//! tests/ is its own package (cb-tests) whose scenarios sit beside its Cargo.toml, so cargo
//! cannot find them by itself: every `tests/*.rs` must have a `[[test]]` entry, or it would
//! silently never run.

#[test]
fn every_scenario_file_is_declared_in_the_manifest() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let manifest = std::fs::read_to_string(format!("{dir}/Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if file.ends_with(".rs") && !manifest.contains(&format!("path = \"{file}\"")) {
            missing.push(file);
        }
    }
    assert!(
        missing.is_empty(),
        "add a [[test]] entry to tests/Cargo.toml for each of {missing:?}"
    );
}
