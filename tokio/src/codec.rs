//! A tokio-util codec of WebSocket messages (to come).
