//! Outside-in attack on commit cbe8494: file presets that build on each other. A stack
//! overflow aborts the whole test binary, hence this file of its own.

use cb_runtime::config::parse;
use std::path::Path;

/// Was a defect: a long chain of file presets, each naming the next, recursed once per preset
/// and overflowed a 2 MiB stack at 4,000 (a ~200 KB file, far below the 16 MiB cap), aborting
/// the process. Presets now nest at most 32 deep: the chain is an error naming the limit.
#[test]
fn a_long_preset_chain_is_an_error_not_a_stack_overflow() {
    const N: usize = 4000;
    let mut text = String::new();
    for i in 0..N {
        if i + 1 < N {
            text.push_str(&format!("[presets.p{i}]\npreset = \"p{}\"\njitter = 0.1\n", i + 1));
        } else {
            text.push_str(&format!("[presets.p{i}]\njitter = 0.1\n"));
        }
    }
    text.push_str("[breakers.x]\npreset = \"p0\"\n");
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            parse(&text, Path::new("cb.toml"))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .expect("parsing panicked (a stack overflow aborts the process)");
    let err = result.unwrap_err();
    assert!(err.contains("more than 32 deep"), "{err}");
}
