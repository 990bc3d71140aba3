//! Outgoing webhooks: which changes they announce, where they may point, and when a failed
//! delivery is tried again. The database derives each event's type with the same rules as
//! [`event_type`] (migration 0007), so that a delivery is written in the change's transaction.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The event types a webhook can subscribe to.
pub const EVENT_TYPES: [&str; 16] = [
    "item.created",
    "item.updated",
    "item.moved",
    "item.deleted",
    "sprint.created",
    "sprint.started",
    "sprint.closed",
    "release.created",
    "release.shipped",
    "initiative.created",
    "initiative.updated",
    "feedback.created",
    "opportunity.created",
    "opportunity.updated",
    "proposal.created",
    "proposal.updated",
];

/// The webhook event type of one recorded change: `object` and `field` as in the history,
/// `new` the new value as stored (compact JSON text).
pub fn event_type(object: &str, field: &str, new: &str) -> String {
    match (object, field, new) {
        ("item", "status", _) => "item.moved".into(),
        ("sprint", "state", "\"active\"") => "sprint.started".into(),
        ("sprint", "state", "\"closed\"") => "sprint.closed".into(),
        ("release", "state", "\"released\"") => "release.shipped".into(),
        (o, "created" | "deleted", _) => format!("{o}.{field}"),
        (o, _, _) => format!("{o}.updated"),
    }
}

/// Checks a list of event types: known, not empty; returns them sorted without repeats.
pub fn parse_events(events: &[String]) -> Result<Vec<String>, String> {
    if events.is_empty() {
        return Err("choose at least one event type".into());
    }
    let mut out = Vec::new();
    for e in events {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(format!("unknown event type {e:?}"));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// Where a webhook sends its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address literal (IPv6 without brackets).
    pub host: String,
    /// Port (80 or 443 when not given).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl Target {
    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Most characters in a webhook URL.
pub const MAX_URL: usize = 2000;

/// Parses a webhook URL: `http(s)://host[:port][/path][?query]`, without user info or fragment.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let (scheme, rest) = url.split_once("://").ok_or("must be an http or https URL")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err("must use http or https".into());
    }
    if rest.contains('#') {
        return Err("must not have a fragment".into());
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err("must not contain a user name or password".into());
    }
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or("has an unclosed IPv6 address")?;
        if h.parse::<Ipv6Addr>().is_err() {
            return Err("has an invalid IPv6 address".into());
        }
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse::<u16>().map_err(|_| "has an invalid port")?,
            None if after.is_empty() => default,
            None => return Err("has an invalid host".into()),
        };
        (h.to_string(), port)
    } else {
        let (h, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "has an invalid port")?),
            None => (authority, default),
        };
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !ok {
            return Err("has an invalid host".into());
        }
        (h.to_ascii_lowercase(), port)
    };
    if port == 0 {
        return Err("has an invalid port".into());
    }
    Ok(Target { scheme, host, port, path })
}

/// Whether `ip` is an address a webhook must not reach unless the administrator allows it:
/// loopback, link-local, private, unique-local, unspecified, broadcast, multicast, shared
/// (carrier-grade NAT) or documentation ranges; IPv4-mapped and -compatible IPv6 addresses are
/// judged by the IPv4 address they carry.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let s = v6.segments();
            // IPv4-compatible (deprecated) ::a.b.c.d, and NAT64 64:ff9b::/96.
            if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_unspecified() && !v6.is_loopback() {
                return internal_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64.0.0/10
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240 // reserved
}

/// Delay before attempt `attempts + 1` after `attempts` failed ones: `base` doubled each time.
pub fn backoff_ms(base_ms: i64, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    base_ms.saturating_mul(1i64 << exp)
}

/// When to try again after the `attempts`-th failure at `now`, or `None` (give up) when that
/// would be later than `window_ms` after the delivery's first try at `since`.
pub fn next_attempt(since: i64, now: i64, attempts: u32, base_ms: i64, window_ms: i64) -> Option<i64> {
    let at = now.saturating_add(backoff_ms(base_ms, attempts));
    (at <= since.saturating_add(window_ms)).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_follow_the_history() {
        assert_eq!(event_type("item", "created", "{}"), "item.created");
        assert_eq!(event_type("item", "title", "\"x\""), "item.updated");
        assert_eq!(event_type("item", "status", "3"), "item.moved");
        assert_eq!(event_type("item", "deleted", "null"), "item.deleted");
        assert_eq!(event_type("sprint", "state", "\"active\""), "sprint.started");
        assert_eq!(event_type("sprint", "state", "\"closed\""), "sprint.closed");
        assert_eq!(event_type("sprint", "state", "\"planned\""), "sprint.updated");
        assert_eq!(event_type("release", "state", "\"released\""), "release.shipped");
        assert_eq!(event_type("release", "data", "{}"), "release.updated");
        for t in EVENT_TYPES {
            assert!(t.split_once('.').is_some(), "{t}");
        }
    }

    #[test]
    fn event_lists_are_checked() {
        let ok = parse_events(&["item.moved".into(), "item.created".into(), "item.moved".into()]);
        assert_eq!(ok.unwrap(), vec!["item.created", "item.moved"]);
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&["item.exploded".into()]).is_err());
    }

    #[test]
    fn urls_are_parsed() {
        let t = parse_url("https://Hooks.Example.com/in?x=1").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port, t.path.as_str()),
            ("https", "hooks.example.com", 443, "/in?x=1")
        );
        assert_eq!(t.host_header(), "hooks.example.com");
        let t = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!((t.port, t.path.as_str(), t.host_header().as_str()), (8080, "/", "127.0.0.1:8080"));
        let t = parse_url("http://[::1]:9000/h").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.host_header().as_str()), ("::1", 9000, "[::1]:9000"));
        assert_eq!(parse_url("http://a.example?q").unwrap().path, "/?q");
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "example.com",
            "http://user:pw@example.com/",
            "http://example.com:99999/",
            "http://example.com:0/",
            "http:///x",
            "http://exa mple.com/",
            "http://[::1/",
            "http://[nope]/",
            "http://example.com/#frag",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc12::3",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(is_internal(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"] {
            assert!(!is_internal(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn backoff_doubles_and_gives_up_after_the_window() {
        let base = 30_000;
        assert_eq!(backoff_ms(base, 1), 30_000);
        assert_eq!(backoff_ms(base, 2), 60_000);
        assert_eq!(backoff_ms(base, 3), 120_000);
        assert_eq!(backoff_ms(base, 100), base << 30);
        let day = 86_400_000;
        // Attempts at 0, 30 s, 90 s, 210 s, …: the last one falls within the day.
        let (mut now, mut n, mut tries) = (0i64, 1u32, 1);
        while let Some(at) = next_attempt(0, now, n, base, day) {
            now = at;
            n += 1;
            tries += 1;
        }
        assert_eq!(tries, 12);
        assert!(now <= day && now + backoff_ms(base, n) > day);
    }
}
