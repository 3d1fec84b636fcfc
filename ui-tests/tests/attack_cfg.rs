//! Outside-in attack on commit cbe8494: keyed-name and family-limit compile checks.
//! Run: cargo test -p cb-ui-tests --test attack_cfg

#[test]
fn attack_cfg() {
    let t = trybuild::TestCases::new();
    t.pass("tests/attack_cfg/pass/*.rs");
    t.compile_fail("tests/attack_cfg/fail/*.rs");
}
