//! `http://` URLs: parsing and the `Host` header.

use std::fmt;

use super::GetError;

/// An `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host as written (an IPv6 address keeps its brackets).
    pub host: String,
    /// The port (80 when the URL has none).
    pub port: u16,
    /// The request target: path and query, at least `/`.
    pub path: String,
}

impl Url {
    /// Parses `http://host[:port][/path][?query][#fragment]`. The fragment is dropped; the
    /// target must be plain visible ASCII (percent-encode anything else).
    pub fn parse(s: &str) -> Result<Url, GetError> {
        let bad = |why: &str| GetError::Url(format!("{s:?}: {why}"));
        let rest = match s.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => return Err(bad(&format!("scheme {scheme:?} is not supported (only http)"))),
            None => return Err(bad("expected http://host[:port]/path")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let target = target.split('#').next().unwrap_or("");
        let path = match target.strip_prefix('?') {
            Some(_) => format!("/{target}"),
            None if target.is_empty() => "/".to_string(),
            None => target.to_string(),
        };
        if let Some(b) = path.bytes().find(|b| !(0x21..=0x7e).contains(b)) {
            return Err(bad(&format!("byte {b:#04x} in the path (percent-encode it)")));
        }
        if authority.contains('@') {
            return Err(bad("user information in URLs is not supported"));
        }
        let (host, port) = if authority.starts_with('[') {
            let close = authority.find(']').ok_or_else(|| bad("unclosed '[' in the host"))?;
            let (h, after) = authority.split_at(close + 1);
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after the IPv6 address"))?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("no host"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]%".contains(&b))
        {
            return Err(bad("invalid character in the host"));
        }
        let port = match port {
            None => 80,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("port out of range"))?,
            Some(_) => return Err(bad("invalid port")),
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The `Host` header's value: the host, with the port unless it is 80.
    pub fn authority(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}
