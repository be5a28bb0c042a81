//! URL splitting shared by the example clients (no TLS, no userinfo).

/// Splits `scheme://host[:port][/path]` into the address to connect to (port 80 when none is
/// given), the `Host` header value and the path (`default_path` when there is none).
pub(crate) fn split(
    url: &str,
    scheme: &str,
    default_path: &str,
) -> Result<(String, String, String), String> {
    let rest = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| format!("only {scheme}:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, default_path),
    };
    if authority.is_empty() {
        return Err("missing host".into());
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_string(), path.to_string()))
}
