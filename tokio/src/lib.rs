//! socketwire on tokio: the sans-IO `socketwire` core driven over tokio's
//! streams and timers.
