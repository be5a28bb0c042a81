//! Criterion benchmarks (filled in by the ws work).
fn main() {}
