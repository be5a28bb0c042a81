//! Criterion benchmarks (filled in by the socketio work).
fn main() {}
