//! Message reassembly and incremental UTF-8 validation.
