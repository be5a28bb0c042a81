//! Criterion benchmarks (filled in by the deflate work).
fn main() {}
