use cb_runtime::circuit_breaker;

#[circuit_breaker(name = "x", fallback = default_value)]
pub fn decode<T: Default>(bytes: &[u8]) -> T {
    let _ = bytes;
    T::default()
}

fn default_value<T: Default>(_bytes: &[u8]) -> T {
    T::default()
}

fn main() {}
