//! Outbound HTTP for plugins (API 0.2, capability `http`): one request to
//! a host the manifest names (and the operator did not take away), never
//! to a loopback, private, link-local or metadata address — checked on the
//! addresses the name resolves to, and the connection is made to the
//! address checked, so a name that resolves differently on the second
//! lookup gains nothing. Redirects are not followed: the plugin gets the
//! `3xx` and may ask for the `Location`, which passes the same checks.
//!
//! HTTPS only unless the operator allows plain HTTP
//! ([`HostConfig::http_plain`](crate::HostConfig)); the request is HTTP/1.0
//! with `Connection: close` (no chunked bodies), bounded by the call's
//! remaining time and the response cap.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The most request headers a plugin may send.
pub const MAX_HTTP_HEADERS: usize = 32;

/// What a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request was not made or failed; each names what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Against the rules (host not allowed, forbidden address, plain
    /// HTTP): `denied`.
    Denied(String),
    /// A malformed request or an oversized answer: `invalid`.
    Invalid(String),
    /// The network failed or the time ran out: `unavailable`.
    Unavailable(String),
}

/// An answer recorded for a request (`hearth-plugin run --http`, tests):
/// with [`HostConfig::http_replay`](crate::HostConfig) set, a plugin's
/// request to `method url` gets it — after every rule about the request,
/// the host and the scheme — and nothing goes to the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedExchange {
    /// `GET`, `POST`… (any case).
    pub method: String,
    /// The URL exactly as the plugin asks for it.
    pub url: String,
    /// The answer's status (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// The answer's headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The answer's body, as text.
    #[serde(default)]
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

/// One request a call asked for and what came of it (in [`Usage`](crate::Usage),
/// for the runner's report).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpExchange {
    /// The method, upper-cased.
    pub method: String,
    /// The URL asked for.
    pub url: String,
    /// `200, 123 bytes`, or why it was not made or failed.
    pub outcome: String,
    /// Whether the answer came from a recording.
    pub replayed: bool,
}

/// What a call may do over HTTP: the plugin's hosts (manifest, narrowed
/// by the operator) and the host's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpGrant {
    /// Hosts the manifest names, narrowed by the operator (and the hosts
    /// of the service URLs the operator set).
    pub hosts: Vec<String>,
    /// `host:port`s the operator allows although they resolve to private
    /// or loopback addresses (a service on the same machine, a test).
    pub private_ok: Vec<String>,
    /// Whether `http://` is allowed.
    pub plain: bool,
    /// The most response bytes (headers and body).
    pub max_response: usize,
    /// Requests in flight per plugin.
    pub per_plugin: usize,
    /// Recorded answers instead of the network.
    pub replay: Option<Arc<Vec<RecordedExchange>>>,
}

/// A request in flight for a plugin; dropping it frees the slot.
pub(crate) struct InFlight(String);

impl InFlight {
    /// Takes one of the plugin's `max` slots, or `None` when all are busy.
    pub fn take(plugin: &str, max: usize) -> Option<InFlight> {
        let mut map = in_flight().lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(plugin.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(InFlight(plugin.to_string()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = in_flight().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.0) {
            *n = n.saturating_sub(1);
        }
    }
}

fn in_flight() -> &'static std::sync::Mutex<std::collections::HashMap<String, usize>> {
    static MAP: OnceLock<std::sync::Mutex<std::collections::HashMap<String, usize>>> =
        OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// The host of `url` as the rules compare it (lowercase name, dotted
/// address or bracketed IPv6), if it is an http(s) URL.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(match url.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    })
}

/// Whether connecting to `ip` could reach something inside: loopback,
/// private ranges, link-local (cloud metadata lives at 169.254.169.254),
/// carrier-grade NAT, unspecified, multicast, broadcast, documentation and
/// benchmarking ranges, IPv6 unique-local and site-local, and IPv4 mapped
/// or translated into IPv6.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (fc00::/7)
                || (s[0] & 0xffc0) == 0xfe80 // link-local (fe80::/10)
                || (s[0] & 0xffc0) == 0xfec0 // site-local (fec0::/10)
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (64:ff9b::/96)
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible
        }
    }
}

/// The TLS client settings: the Mozilla roots, ring, TLS 1.2 and 1.3.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Refusal> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Refusal::Unavailable(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// A header name or value a plugin may send: visible ASCII (and spaces in
/// values), no line breaks.
fn header_ok(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && value.len() <= 8192
        && value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
}

/// Headers the host sets itself.
fn host_header(name: &str) -> bool {
    [
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "keep-alive",
        "expect",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Makes one request under `rules`, within `deadline`.
pub(crate) fn fetch(
    req: &Request,
    rules: &HttpGrant,
    deadline: Instant,
) -> Result<Response, Refusal> {
    let method = req.method.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str()) {
        return Err(Refusal::Invalid(format!(
            "method {method:?}: use GET, POST, PUT, PATCH, DELETE or HEAD"
        )));
    }
    if req.headers.len() > MAX_HTTP_HEADERS {
        return Err(Refusal::Invalid(format!(
            "at most {MAX_HTTP_HEADERS} headers"
        )));
    }
    for (name, value) in &req.headers {
        if !header_ok(name, value) || host_header(name) {
            return Err(Refusal::Invalid(format!("header {name:?} may not be sent")));
        }
    }
    let url = url::Url::parse(&req.url)
        .map_err(|e| Refusal::Invalid(format!("{:?} is not a URL: {e}", req.url)))?;
    let tls = match url.scheme() {
        "https" => true,
        "http" if rules.plain => false,
        "http" => {
            return Err(Refusal::Denied(
                "plain http:// is not allowed (https only; the operator can allow it with HostConfig::http_plain)".into(),
            ));
        }
        other => return Err(Refusal::Invalid(format!("scheme {other:?}: use https"))),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Invalid(
            "credentials in the URL: send them in a header".into(),
        ));
    }
    let Some(host) = host_of(url.as_str()) else {
        return Err(Refusal::Invalid("the URL names no host".into()));
    };
    if !rules.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return Err(Refusal::Denied(format!(
            "host {host} is not among the hosts this plugin may call here ({})",
            if rules.hosts.is_empty() {
                "none".to_string()
            } else {
                rules.hosts.join(", ")
            }
        )));
    }
    if let Some(recorded) = rules.replay.as_deref() {
        let found = recorded
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(&method) && r.url == req.url);
        return match found {
            Some(r) if r.body.len() > rules.max_response => Err(Refusal::Invalid(format!(
                "the answer is larger than {} bytes",
                rules.max_response
            ))),
            Some(r) => Ok(Response {
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone().into_bytes(),
            }),
            None => Err(Refusal::Unavailable(format!(
                "no recorded answer for {method} {}",
                req.url
            ))),
        };
    }
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let private_ok = rules
        .private_ok
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&format!("{host}:{port}")));
    let left = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Refusal::Unavailable(format!("the call's time ran out {what}")))
    };
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs = resolve(&bare, port, left("before resolving")?)
        .map_err(|e| Refusal::Unavailable(format!("resolving {host}: {e}")))?;
    // Every address must be outside, or the operator must allow this one.
    if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip()))
        && !private_ok
    {
        return Err(Refusal::Denied(format!(
            "{host} resolves to {}, an internal address (loopback, private, link-local or metadata): refused",
            bad.ip()
        )));
    }
    let addr = *addrs
        .first()
        .ok_or_else(|| Refusal::Unavailable(format!("{host} resolves to no address")))?;
    let tcp = TcpStream::connect_timeout(&addr, left("before connecting")?)
        .map_err(|e| Refusal::Unavailable(format!("connecting to {host}: {e}")))?;
    let remaining = left("after connecting")?;
    let _ = tcp.set_read_timeout(Some(remaining));
    let _ = tcp.set_write_timeout(Some(remaining));
    let mut head = format!(
        "{method} {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\nAccept-Encoding: identity\r\nUser-Agent: Hearth-plugin\r\n",
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        },
        match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        }
    );
    for (name, value) in &req.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !req.body.is_empty() || matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    let raw = if tls {
        let name = rustls::pki_types::ServerName::try_from(bare.clone())
            .map_err(|e| Refusal::Invalid(format!("{host}: {e}")))?;
        let conn = rustls::ClientConnection::new(tls_config()?, name)
            .map_err(|e| Refusal::Unavailable(format!("TLS with {host}: {e}")))?;
        exchange(
            rustls::StreamOwned::new(conn, tcp),
            &head,
            &req.body,
            rules.max_response,
            &host,
        )?
    } else {
        exchange(tcp, &head, &req.body, rules.max_response, &host)?
    };
    parse(&raw, &host)
}

/// The addresses of `host`, within `within`: the system resolver cannot
/// be interrupted, so it runs on a thread of its own that is left to
/// finish (and its answer dropped) when the time runs out.
fn resolve(host: &str, port: u16, within: std::time::Duration) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("hearth-resolve".into())
        .spawn(move || {
            let _ = tx.send(
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>()),
            );
        })
        .map_err(|e| e.to_string())?;
    match rx.recv_timeout(within) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the name did not resolve within the call's time".into()),
    }
}

fn exchange(
    mut stream: impl Read + Write,
    head: &str,
    body: &[u8],
    max: usize,
    host: &str,
) -> Result<Vec<u8>, Refusal> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            Refusal::Unavailable(format!("{host} did not answer within the call's time"))
        }
        _ => Refusal::Unavailable(format!("talking to {host}: {e}")),
    };
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            // A peer closing TLS without close_notify after a complete
            // answer: what was read stands.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io(e)),
        };
        if raw.len() + n > max {
            return Err(Refusal::Invalid(format!(
                "the answer from {host} is larger than {max} bytes: not read further"
            )));
        }
        raw.extend_from_slice(&buf[..n]);
    }
    Ok(raw)
}

fn parse(raw: &[u8], host: &str) -> Result<Response, Refusal> {
    let bad = || Refusal::Unavailable(format!("{host} answered something that is not HTTP"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(bad)?;
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad());
    }
    let status: u16 = code.parse().map_err(|_| bad())?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn internal_addresses_are_recognised() {
        for inside in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(
                is_internal(inside.parse().unwrap_or_else(|e| panic!("{inside}: {e}"))),
                "{inside}"
            );
        }
        for outside in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            assert!(
                !is_internal(outside.parse().unwrap_or_else(|e| panic!("{outside}: {e}"))),
                "{outside}"
            );
        }
    }

    #[test]
    fn recorded_answers_come_after_the_rules() {
        let hosts = vec!["api.example.com".to_string()];
        let recorded = vec![RecordedExchange {
            method: "post".into(),
            url: "https://api.example.com/check".into(),
            status: 201,
            headers: vec![("X-A".into(), "1".into())],
            body: "yes".into(),
        }];
        let rules = HttpGrant {
            hosts,
            max_response: 10,
            replay: Some(Arc::new(recorded.clone())),
            ..HttpGrant::default()
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        let req = |method: &str, url: &str| Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let r = fetch(
            &req("POST", "https://api.example.com/check"),
            &rules,
            deadline,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, b"yes".as_slice()));
        // The rules still apply: another host, plain http.
        assert!(matches!(
            fetch(
                &req("POST", "https://other.example.com/check"),
                &rules,
                deadline
            ),
            Err(Refusal::Denied(_))
        ));
        assert!(matches!(
            fetch(
                &req("POST", "http://api.example.com/check"),
                &rules,
                deadline
            ),
            Err(Refusal::Denied(_))
        ));
        // Not recorded: unavailable, nothing fetched.
        assert!(matches!(
            fetch(&req("GET", "https://api.example.com/check"), &rules, deadline),
            Err(Refusal::Unavailable(m)) if m.contains("no recorded answer")
        ));
        // Over the answer cap.
        let big = vec![RecordedExchange {
            body: "x".repeat(11),
            ..recorded[0].clone()
        }];
        let capped = HttpGrant {
            replay: Some(Arc::new(big)),
            ..rules.clone()
        };
        assert!(matches!(
            fetch(
                &req("POST", "https://api.example.com/check"),
                &capped,
                deadline
            ),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn requests_are_checked_before_anything_is_sent() {
        let hosts = vec!["api.example.com".to_string()];
        let rules = HttpGrant {
            hosts,
            max_response: 1 << 20,
            ..HttpGrant::default()
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        let req = |method: &str, url: &str, headers: Vec<(String, String)>| Request {
            method: method.into(),
            url: url.into(),
            headers,
            body: Vec::new(),
        };
        let refused = |r: Request| fetch(&r, &rules, deadline).unwrap_err();
        assert!(
            matches!(refused(req("GET", "http://api.example.com/", vec![])), Refusal::Denied(m) if m.contains("https only"))
        );
        assert!(
            matches!(refused(req("GET", "https://other.example.com/", vec![])), Refusal::Denied(m) if m.contains("not among"))
        );
        assert!(matches!(
            refused(req("GET", "ftp://api.example.com/", vec![])),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused(req("CONNECT", "https://api.example.com/", vec![])),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused(req("GET", "https://u:p@api.example.com/", vec![])),
            Refusal::Invalid(_)
        ));
        for (n, v) in [
            ("Host", "evil"),
            ("X-A", "line\r\nbreak"),
            ("Bad Name", "x"),
            ("Transfer-Encoding", "chunked"),
        ] {
            let r = req(
                "GET",
                "https://api.example.com/",
                vec![(n.into(), v.into())],
            );
            assert!(matches!(refused(r), Refusal::Invalid(_)), "{n}");
        }
        let many = (0..=MAX_HTTP_HEADERS)
            .map(|i| (format!("x-{i}"), "v".to_string()))
            .collect();
        assert!(matches!(
            refused(req("GET", "https://api.example.com/", many)),
            Refusal::Invalid(_)
        ));
    }

    #[test]
    fn answers_parse_and_bodies_stop_at_their_length() {
        let r = parse(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 2\r\n\r\nokEXTRA", "h").unwrap();
        assert_eq!(r.status, 302);
        assert_eq!(
            r.headers[0],
            ("location".into(), "http://169.254.169.254/".into())
        );
        assert_eq!(r.body, b"ok");
        assert!(parse(b"garbage", "h").is_err());
        assert!(parse(b"SSH-2.0\r\n\r\n", "h").is_err());
    }
}
