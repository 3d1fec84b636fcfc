use cb_runtime::circuit_breaker;

pub trait Decode {
    type Out;
    fn decode(bytes: &[u8]) -> Self::Out;
}

#[circuit_breaker(name = "x")]
pub fn decode<T: Decode>(bytes: &[u8]) -> T::Out {
    T::decode(bytes)
}

#[circuit_breaker(name = "y")]
pub fn decode_qualified<T: Decode>(bytes: &[u8]) -> <T as Decode>::Out {
    T::decode(bytes)
}

fn main() {}
