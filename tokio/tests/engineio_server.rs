//! The Engine.IO server (feature `engineio-server`).
