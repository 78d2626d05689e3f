//! Where a broker is: a [`Server`] parsed from a URL. The scheme picks the
//! transport (`mqtt://` plain TCP, `mqtts://` TLS, `ws://` WebSocket,
//! `wss://` WebSocket over TLS; `tcp://` and `ssl://` are accepted as other
//! clients spell them). Parsing is the `url` crate's; this file only adds
//! what MQTT URLs mean: default ports, the WebSocket path, credentials.

use crate::Error;
use std::fmt;

/// The transport a [`Server`] is reached over.
///
/// ```
/// use mqtt_client::{Scheme, Server};
///
/// let scheme = Server::parse("ssl://broker.example").unwrap().scheme();
/// assert_eq!(scheme, Scheme::Mqtts);
/// assert!(scheme.is_tls() && !scheme.is_websocket());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// MQTT over TCP (`mqtt://`, `tcp://`), port 1883 by default.
    Mqtt,
    /// MQTT over TLS (`mqtts://`, `ssl://`), port 8883 by default.
    Mqtts,
    /// MQTT over WebSocket (`ws://`), port 80 by default.
    Ws,
    /// MQTT over WebSocket over TLS (`wss://`), port 443 by default.
    Wss,
}

impl Scheme {
    /// The scheme for a URL scheme name, aliases included.
    fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "mqtt" | "tcp" => Some(Scheme::Mqtt),
            "mqtts" | "ssl" | "tls" => Some(Scheme::Mqtts),
            "ws" => Some(Scheme::Ws),
            "wss" => Some(Scheme::Wss),
            _ => None,
        }
    }

    /// The URL scheme name (`mqtt`, `mqtts`, `ws`, `wss`).
    ///
    /// ```
    /// use mqtt_client::{Scheme, Server};
    ///
    /// // Aliases are named by their canonical scheme.
    /// assert_eq!(Server::parse("tcp://broker.example").unwrap().scheme().name(), "mqtt");
    /// assert_eq!(Scheme::Wss.name(), "wss");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Mqtt => "mqtt",
            Scheme::Mqtts => "mqtts",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        }
    }

    /// The port used when the URL names none.
    ///
    /// ```
    /// use mqtt_client::Scheme;
    ///
    /// assert_eq!(Scheme::Mqtt.default_port(), 1883);
    /// assert_eq!(Scheme::Mqtts.default_port(), 8883);
    /// ```
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Mqtt => 1883,
            Scheme::Mqtts => 8883,
            Scheme::Ws => 80,
            Scheme::Wss => 443,
        }
    }

    /// Whether the stream is wrapped in TLS.
    ///
    /// ```
    /// use mqtt_client::Scheme;
    ///
    /// assert!(Scheme::Wss.is_tls());
    /// assert!(!Scheme::Ws.is_tls());
    /// ```
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Mqtts | Scheme::Wss)
    }

    /// Whether MQTT is carried in WebSocket frames.
    ///
    /// ```
    /// use mqtt_client::Scheme;
    ///
    /// assert!(Scheme::Ws.is_websocket());
    /// assert!(!Scheme::Mqtts.is_websocket());
    /// ```
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
}

/// One broker: scheme, host, port and (for WebSocket) the request path.
///
/// ```
/// use mqtt_client::{Scheme, Server};
///
/// let server = Server::parse("wss://broker.example:8443").unwrap();
/// assert_eq!(server.scheme(), Scheme::Wss);
/// assert_eq!((server.host(), server.port(), server.path()), ("broker.example", 8443, "/mqtt"));
/// assert_eq!(Server::parse("mqtts://[::1]").unwrap().port(), 8883);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    scheme: Scheme,
    host: String,
    port: u16,
    path: String,
}

/// User name and password found in a URL, percent-decoded.
pub(crate) type UrlCredentials = (String, Option<String>);

impl Server {
    /// A plain TCP broker at `host:port`.
    ///
    /// ```
    /// use mqtt_client::Server;
    ///
    /// let server = Server::tcp("10.1.2.3", 1883);
    /// assert_eq!(server, Server::parse("mqtt://10.1.2.3").unwrap());
    /// assert_eq!(server.to_string(), "mqtt://10.1.2.3:1883");
    /// ```
    pub fn tcp(host: impl Into<String>, port: u16) -> Server {
        Server {
            scheme: Scheme::Mqtt,
            host: host.into(),
            port,
            path: String::new(),
        }
    }

    /// Parses a broker URL; credentials in it are rejected here (use
    /// [`Options::from_url`](crate::Options::from_url) to take them).
    ///
    /// ```
    /// use mqtt_client::{Error, Server};
    ///
    /// let server = Server::parse("ws://broker.example:9001/ws")?;
    /// assert_eq!((server.port(), server.path()), (9001, "/ws"));
    /// assert!(matches!(Server::parse("http://broker.example"), Err(Error::InvalidUrl(_))));
    /// assert!(Server::parse("mqtt://user:pw@broker.example").is_err()); // credentials go in Options
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn parse(url: &str) -> Result<Server, Error> {
        match Server::parse_with_credentials(url)? {
            (server, None) => Ok(server),
            (_, Some(_)) => Err(Error::InvalidUrl(format!(
                "{}: credentials belong in Options, not in a Server",
                redact(url)
            ))),
        }
    }

    /// Parses a broker URL and the `user:password@` in it, if any.
    pub(crate) fn parse_with_credentials(
        text: &str,
    ) -> Result<(Server, Option<UrlCredentials>), Error> {
        let shown = redact(text);
        let bad = |why: &str| Error::InvalidUrl(format!("{shown}: {why}"));
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let scheme = Scheme::from_name(url.scheme()).ok_or_else(|| {
            bad("unknown scheme; expected mqtt://, mqtts://, ws:// or wss:// (tcp:// and ssl:// are accepted too)")
        })?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => percent_decode(d, &bad)?,
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host")),
        };
        let port = url.port().unwrap_or(scheme.default_port());
        if port == 0 {
            return Err(bad("port 0"));
        }
        if url.fragment().is_some() {
            return Err(bad("a fragment (#...) means nothing to MQTT"));
        }
        let path = if scheme.is_websocket() {
            let mut path = match url.path() {
                "" | "/" => "/mqtt".to_owned(),
                p => p.to_owned(),
            };
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            path
        } else {
            if !matches!(url.path(), "" | "/") || url.query().is_some() {
                return Err(bad(
                    "a path or query is only meaningful for ws:// and wss://",
                ));
            }
            String::new()
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = percent_decode(url.username(), &bad)?;
            let password = url
                .password()
                .map(|p| percent_decode(p, &bad))
                .transpose()?;
            Some((user, password))
        };
        let server = Server {
            scheme,
            host,
            port,
            path,
        };
        Ok((server, credentials))
    }

    /// The transport.
    ///
    /// ```
    /// use mqtt_client::{Scheme, Server};
    ///
    /// assert_eq!(Server::parse("wss://broker.example").unwrap().scheme(), Scheme::Wss);
    /// ```
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or IP address (IPv6 without brackets). TLS checks the
    /// server's certificate against it and sends it as SNI.
    ///
    /// ```
    /// use mqtt_client::Server;
    ///
    /// assert_eq!(Server::parse("mqtts://[2001:db8::1]").unwrap().host(), "2001:db8::1");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    ///
    /// ```
    /// use mqtt_client::Server;
    ///
    /// assert_eq!(Server::parse("ws://broker.example").unwrap().port(), 80);
    /// assert_eq!(Server::parse("mqtt://broker.example:1884").unwrap().port(), 1884);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP path of the WebSocket upgrade (`/mqtt` unless the URL names
    /// one); empty for `mqtt://` and `mqtts://`.
    ///
    /// ```
    /// use mqtt_client::Server;
    ///
    /// assert_eq!(Server::parse("wss://broker.example").unwrap().path(), "/mqtt");
    /// assert_eq!(Server::parse("mqtts://broker.example").unwrap().path(), "");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.scheme.name();
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

fn percent_decode(text: &str, bad: &dyn Fn(&str) -> Error) -> Result<String, Error> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| bad("percent-encoded text that is not UTF-8"))
}

/// The URL as it may be shown in errors: with any password replaced.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (Server, Option<UrlCredentials>) {
        Server::parse_with_credentials(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn schemes_and_default_ports() {
        for (url, scheme, port) in [
            ("mqtt://h", Scheme::Mqtt, 1883),
            ("tcp://h", Scheme::Mqtt, 1883),
            ("mqtts://h", Scheme::Mqtts, 8883),
            ("ssl://h", Scheme::Mqtts, 8883),
            ("ws://h", Scheme::Ws, 80),
            ("wss://h", Scheme::Wss, 443),
            ("wss://h:8443/", Scheme::Wss, 8443),
            ("mqtt://h:1884", Scheme::Mqtt, 1884),
        ] {
            let (s, _) = parse(url);
            assert_eq!(
                (s.scheme(), s.host(), s.port()),
                (scheme, "h", port),
                "{url}"
            );
        }
    }

    #[test]
    fn websocket_paths() {
        assert_eq!(parse("ws://h").0.path(), "/mqtt");
        assert_eq!(parse("ws://h/").0.path(), "/mqtt");
        assert_eq!(parse("wss://h/ws").0.path(), "/ws");
        assert_eq!(parse("wss://h/ws?token=a%20b").0.path(), "/ws?token=a%20b");
        assert_eq!(parse("mqtt://h/").0.path(), "");
    }

    #[test]
    fn ipv6_literals() {
        let (s, _) = parse("mqtt://[::1]:1885");
        assert_eq!((s.host(), s.port()), ("::1", 1885));
        assert_eq!(s.to_string(), "mqtt://[::1]:1885");
        assert_eq!(parse("wss://[fe80::1]").0.port(), 443);
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let (s, creds) = parse("mqtts://us%40er:p%3Ass%2Fw@broker.example");
        assert_eq!(s.host(), "broker.example");
        assert_eq!(creds, Some(("us@er".to_owned(), Some("p:ss/w".to_owned()))));
        let (_, creds) = parse("mqtt://alice@h");
        assert_eq!(creds, Some(("alice".to_owned(), None)));
        assert!(Server::parse("mqtt://alice@h").is_err());
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://host:port",
            "mqtt://h:0",
            "mqtt://h:70000",
            "mqtt://h/path",
            "mqtt://h?x=1",
            "mqtt://h#frag",
            "broker:1883",
            "",
        ] {
            match Server::parse_with_credentials(bad) {
                Err(Error::InvalidUrl(why)) => assert!(!why.is_empty()),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn errors_never_show_the_password() {
        let Err(Error::InvalidUrl(why)) = Server::parse_with_credentials("http://u:hunter2@h")
        else {
            panic!("expected an error")
        };
        assert!(!why.contains("hunter2"), "{why}");
        assert!(why.contains("u:***@h"), "{why}");
    }
}
