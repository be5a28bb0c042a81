//! Socket.IO v4 and v5: packets, binary attachments, sessions and rooms.
