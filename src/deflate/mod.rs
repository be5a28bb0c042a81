//! RFC 7692 permessage-deflate.
