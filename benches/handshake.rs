//! Criterion benchmarks (filled in by the handshake work).
fn main() {}
