//! Outside-in attack on commit 99bcffc: `max_keys` / `idle_ttl` on a function whose name is a
//! constant (const assert), beyond free functions.
//! Run: cargo test -p cb-ui-tests --test attack_q

#[test]
fn attack_q() {
    let t = trybuild::TestCases::new();
    t.pass("tests/attack_q/pass/*.rs");
    t.compile_fail("tests/attack_q/fail/*.rs");
}
