//! The tokio-util codec (to come).
