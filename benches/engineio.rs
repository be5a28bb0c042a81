//! Criterion benchmarks (filled in by the engineio work).
fn main() {}
