//! Engine.IO v3 and v4: packets, payloads and sans-IO sessions.
