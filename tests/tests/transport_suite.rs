//! The client over every transport, on every runtime: TLS and mutual TLS
//! against mosquitto, WebSocket and secure WebSocket against aedes (Debian's
//! mosquitto has no WebSocket support), all with certificates the harness
//! generates at run time (`mqtt_integration_tests::pki`).
//!
//! - [`scenarios`]: QoS round trips, will, persistent session and broker
//!   restart, written once and run over each [`Link`];
//! - [`refusals`]: each way a TLS or WebSocket connection must fail, with the
//!   typed error a user sees, within a bounded time and without a storm of
//!   attempts;
//! - [`servers`]: several brokers (failover) and connectors of the user's
//!   own (a Unix socket).
//!
//! [`suite!`] instantiates every test for tokio, async-std and smol, as
//! `tokio::tls_qos_round_trips`, `smol::refuse_unknown_ca`, and so on.
//! The tests control connections through [`Plug`], a [`Connector`] on
//! async-io's TCP (which runs under any executor) that can cut every
//! connection without a DISCONNECT and refuse new ones.
//!
//! Normative statements of MQTT 3.1.1 are cited as [MQTT-x.y.z-n].

use async_io::Async;
use mqtt_client::{
    Client, ConnectionEvent, Connector, DisconnectReason, Error, Events, Message, Options, QoS,
    Runtime, Server, TlsError, TlsOptions, WebSocketError,
};
use mqtt_integration_tests::aedes::Aedes;
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;
use mqtt_integration_tests::wait::block_on_tokio;
use mqtt_integration_tests::wait::{timeout, within};
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bound on one step (a connect, a delivery).
const STEP: Duration = Duration::from_secs(10);
/// The bound on a whole test.
const BOUND: Duration = Duration::from_secs(60);
/// How long a refused connection may take to be reported.
const REFUSAL_BOUND: Duration = Duration::from_secs(5);

async fn connect<R: Runtime>(options: Options, what: &str) -> Client<R> {
    // The smol flavour's driver is spawned on smol (see on_smol).
    let connecting = mqtt_integration_tests::on_smol::connect::<R>(options);
    within(STEP, what, connecting)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

async fn next_message<R>(sub: &mut mqtt_client::Subscription<R>, what: &str) -> Message {
    within(STEP, what, sub.next())
        .await
        .unwrap_or_else(|| panic!("{what}: the subscription ended"))
}

/// The first event matching `pred` within [`STEP`], skipping others.
async fn wait_event(
    events: &Events,
    what: &str,
    pred: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    mqtt_integration_tests::steps::wait_event(events, STEP, what, pred).await
}

/// `client.events()` past the current state it reports first, so that
/// what comes next is news.
async fn news<R>(client: &Client<R>) -> Events {
    let events = client.events();
    let state = within(STEP, "the current state", events.recv()).await;
    assert!(
        matches!(state, Ok(ConnectionEvent::Connected { .. })),
        "a connected client reports Connected first: {state:?}"
    );
    events
}

fn is_connected(e: &ConnectionEvent) -> bool {
    matches!(e, ConnectionEvent::Connected { .. })
}

/// A [`Connector`] the test holds the other end of: it opens async-io TCP
/// streams to `target` (whatever server the client names), counts its
/// calls, and can cut its connections or refuse new ones.
#[derive(Clone)]
struct Plug(Arc<PlugState>);

struct PlugState {
    target: Mutex<SocketAddr>,
    open: AtomicBool,
    calls: AtomicUsize,
    live: Mutex<Vec<TcpStream>>,
}

impl Plug {
    fn to(port: u16) -> Plug {
        Plug(Arc::new(PlugState {
            target: Mutex::new(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            open: AtomicBool::new(true),
            calls: AtomicUsize::new(0),
            live: Mutex::new(Vec::new()),
        }))
    }

    fn connector(&self) -> impl Connector {
        let state = self.0.clone();
        move |_server: Server| {
            let state = state.clone();
            async move {
                state.calls.fetch_add(1, Ordering::SeqCst);
                if !state.open.load(Ordering::SeqCst) {
                    return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
                }
                let target = *state.target.lock().expect("plug lock");
                let stream = Async::<TcpStream>::connect(target).await?;
                stream.get_ref().set_nodelay(true)?;
                state
                    .live
                    .lock()
                    .expect("plug lock")
                    .push(stream.get_ref().try_clone()?);
                Ok(stream)
            }
        }
    }

    /// Ends every connection made so far, without a DISCONNECT: the broker
    /// and the client both see the stream end, as on a network failure.
    fn cut(&self) {
        for stream in self.0.live.lock().expect("plug lock").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Cuts, and refuses new connections until [`replug`](Self::replug).
    fn unplug(&self) {
        self.0.open.store(false, Ordering::SeqCst);
        self.cut();
    }

    fn replug(&self) {
        self.0.open.store(true, Ordering::SeqCst);
    }

    fn retarget(&self, port: u16) {
        *self.0.target.lock().expect("plug lock") = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    }

    fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }
}

/// A transport under test and the broker that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `mqtts://` to mosquitto, server authentication only.
    Tls,
    /// `mqtts://` to mosquitto, with a client certificate.
    Mtls,
    /// `ws://` to aedes.
    Ws,
    /// `wss://` to aedes.
    Wss,
}

/// A broker for one [`Link`], with the certificates it uses.
#[derive(Debug)]
pub struct Env {
    link: Link,
    pki: Pki,
    mosquitto: Option<Mosquitto>,
    aedes: Option<Aedes>,
}

impl Env {
    pub fn start(link: Link) -> Env {
        let pki = Pki::generate();
        let (mosquitto, aedes) = match link {
            Link::Tls | Link::Mtls => (
                Some(Mosquitto::start_tls(
                    &pki,
                    "persistence true\nautosave_interval 1",
                )),
                None,
            ),
            Link::Ws | Link::Wss => (None, Some(Aedes::start(Some(&pki), None))),
        };
        Env {
            link,
            pki,
            mosquitto,
            aedes,
        }
    }

    fn mosquitto(&self) -> &Mosquitto {
        self.mosquitto.as_ref().expect("a mosquitto link")
    }

    fn aedes(&self) -> &Aedes {
        self.aedes.as_ref().expect("an aedes link")
    }

    /// The listener's port.
    fn port(&self) -> u16 {
        match self.link {
            Link::Tls => self.mosquitto().tls_port(),
            Link::Mtls => self.mosquitto().mtls_port(),
            Link::Ws => self.aedes().ws_port(),
            Link::Wss => self.aedes().wss_port(),
        }
    }

    /// The URL a user would write. The TLS links name `localhost`, so that
    /// the certificate's DNS name is checked; `wss` names `127.0.0.1`, so
    /// that its IP address is.
    fn url(&self) -> String {
        match self.link {
            Link::Tls | Link::Mtls => format!("mqtts://localhost:{}", self.port()),
            Link::Ws => self.aedes().ws_url(),
            Link::Wss => self.aedes().wss_url(),
        }
    }

    fn tls(&self) -> TlsOptions {
        let tls = TlsOptions::new().ca_file(self.pki.ca_cert());
        match self.link {
            Link::Mtls => tls.client_cert_files(self.pki.client_cert(), self.pki.client_key()),
            _ => tls,
        }
    }

    fn options(&self, client_id: &str) -> Options {
        Options::from_url(&self.url())
            .unwrap_or_else(|e| panic!("{}: {e}", self.url()))
            .client_id(client_id)
            .tls(self.tls())
            .backoff(Duration::from_millis(50), Duration::from_millis(500))
    }

    /// A plain TCP client of the same broker, to publish or watch from.
    fn plain(&self, client_id: &str) -> Options {
        let port = match self.link {
            Link::Tls | Link::Mtls => self.mosquitto().port(),
            Link::Ws | Link::Wss => self.aedes().port(),
        };
        Options::new("127.0.0.1", port).client_id(client_id)
    }

    /// Whether the broker keeps sessions across its own restart (mosquitto
    /// with persistence does; aedes here keeps them in memory).
    fn persists(&self) -> bool {
        self.mosquitto.is_some()
    }

    fn restart(&mut self) {
        match (&mut self.mosquitto, &mut self.aedes) {
            (Some(m), _) => m.restart(),
            (None, Some(a)) => a.restart(),
            (None, None) => unreachable!("an Env has a broker"),
        }
    }
}

/// What a link must carry: the same stories as over TCP.
mod scenarios {
    use super::*;

    /// QoS 0, 1 and 2 both ways, and a payload larger than any one read or
    /// WebSocket frame buffer; the client reports the server it uses.
    pub async fn qos_round_trips<R: Runtime>(env: &Env) {
        let subscriber = connect::<R>(env.options("rt-sub"), "subscriber").await;
        assert_eq!(subscriber.client_id(), "rt-sub");
        let events = subscriber.events();
        let first = within(STEP, "the current state", events.recv()).await;
        let expected = Server::parse(&env.url()).expect("the link's URL");
        match first {
            Ok(ConnectionEvent::Connected { server, .. }) => assert_eq!(server, expected),
            other => panic!("expected Connected to {expected}, got {other:?}"),
        }
        let mut sub = subscriber
            .subscribe("rt/#", QoS::ExactlyOnce)
            .await
            .expect("subscribe");
        let publisher = connect::<R>(env.options("rt-pub"), "publisher").await;
        let big = vec![0xA5u8; 300 * 1024];
        let sent = [
            ("rt/0", QoS::AtMostOnce, b"zero".to_vec()),
            ("rt/1", QoS::AtLeastOnce, b"one".to_vec()),
            ("rt/2", QoS::ExactlyOnce, b"two".to_vec()),
            ("rt/big", QoS::AtLeastOnce, big),
        ];
        for (topic, qos, payload) in &sent {
            within(
                STEP,
                "publish",
                publisher.publish(topic, payload.clone(), *qos),
            )
            .await
            .unwrap_or_else(|e| panic!("publish {topic}: {e}"));
        }
        for (topic, qos, payload) in &sent {
            let m = next_message(&mut sub, topic).await;
            assert_eq!(m.topic.as_str(), *topic);
            assert_eq!(&m.payload[..], &payload[..], "{topic}: payload");
            // Delivered at the QoS it was published with, the subscription
            // granting 2 [MQTT-3.8.4-6].
            assert_eq!(m.qos, *qos, "{topic}: QoS");
        }
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", subscriber.disconnect())
            .await
            .expect("disconnect");
    }

    /// A client that loses its connection without DISCONNECT has its will
    /// published [MQTT-3.1.2-8].
    pub async fn will<R: Runtime>(env: &Env) {
        let watcher = connect::<R>(env.plain("will-watcher"), "watcher").await;
        let mut wills = watcher
            .subscribe("will/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let plug = Plug::to(env.port());
        let doomed = connect::<R>(
            env.options("will-doomed")
                .last_will("will/doomed", "gone", QoS::AtLeastOnce, false)
                .connector(plug.connector()),
            "doomed client",
        )
        .await;
        plug.unplug();
        let m = next_message(&mut wills, "the will").await;
        assert_eq!(
            (m.topic.as_str(), &m.payload[..]),
            ("will/doomed", &b"gone"[..])
        );
        drop(doomed);
        within(STEP, "disconnect", watcher.disconnect())
            .await
            .expect("disconnect");
    }

    /// Messages published while a persistent session is offline arrive
    /// when it comes back [MQTT-3.1.2-4], [MQTT-3.2.2-2].
    pub async fn persistent_session<R: Runtime>(env: &Env) {
        let plug = Plug::to(env.port());
        let subscriber = connect::<R>(
            env.options("ps-sub")
                .clean_session(false)
                .connector(plug.connector()),
            "subscriber",
        )
        .await;
        let mut sub = subscriber
            .subscribe("ps/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let events = news(&subscriber).await;
        plug.unplug();
        wait_event(&events, "Disconnected", |e| {
            matches!(e, ConnectionEvent::Disconnected { .. })
        })
        .await;
        let publisher = connect::<R>(env.plain("ps-pub"), "publisher").await;
        for i in 0..20 {
            within(
                STEP,
                "publish",
                publisher.publish(&format!("ps/{i}"), i.to_string(), QoS::AtLeastOnce),
            )
            .await
            .expect("publish");
        }
        plug.replug();
        let back = wait_event(&events, "Connected again", is_connected).await;
        assert!(
            matches!(
                back,
                ConnectionEvent::Connected {
                    session_present: true,
                    ..
                }
            ),
            "{back:?}"
        );
        let mut got: Vec<String> = Vec::new();
        while got.len() < 20 {
            let m = next_message(&mut sub, "a stored message").await;
            got.push(String::from_utf8_lossy(&m.payload).into_owned());
        }
        got.sort_by_key(|s| s.parse::<u32>().unwrap_or(u32::MAX));
        got.dedup();
        assert_eq!(got, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", subscriber.disconnect())
            .await
            .expect("disconnect");
    }

    /// The broker restarts: the client reconnects over the same transport,
    /// with its session if the broker kept it [MQTT-3.2.2-2], subscribing
    /// again if not, and receives what is published afterwards.
    pub async fn broker_restart<R: Runtime>(env: &mut Env) {
        let subscriber =
            connect::<R>(env.options("br-sub").clean_session(false), "subscriber").await;
        let mut sub = subscriber
            .subscribe("br/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let events = news(&subscriber).await;
        env.restart();
        let back = wait_event(&events, "Connected after the restart", is_connected).await;
        match back {
            ConnectionEvent::Connected {
                session_present, ..
            } => assert_eq!(
                session_present,
                env.persists(),
                "session present after restart"
            ),
            other => panic!("{other:?}"),
        }
        let publisher = connect::<R>(env.options("br-pub"), "publisher").await;
        // The resubscription (when the session was lost) may still be on
        // its way: publish until one arrives.
        let give_up = Instant::now() + STEP;
        loop {
            within(
                STEP,
                "publish",
                publisher.publish("br/after", "after", QoS::AtLeastOnce),
            )
            .await
            .expect("publish");
            if let Ok(Some(m)) = timeout(Duration::from_millis(500), sub.next()).await {
                assert_eq!(m.topic.as_str(), "br/after");
                break;
            }
            assert!(
                Instant::now() < give_up,
                "nothing received after the restart"
            );
        }
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", subscriber.disconnect())
            .await
            .expect("disconnect");
    }
}

/// Each way a connection must be refused: the error is typed, arrives
/// within [`REFUSAL_BOUND`], and costs one attempt, not a storm.
mod refusals {
    use super::*;

    /// Connects through a counting [`Plug`] to `port` and expects `check`
    /// to accept the error, after exactly `attempts` connections.
    async fn refused<R: Runtime>(
        options: Options,
        port: u16,
        attempts: usize,
        check: impl Fn(&Error) -> bool,
    ) -> Error {
        let plug = Plug::to(port);
        let started = Instant::now();
        let result = timeout(
            REFUSAL_BOUND,
            mqtt_integration_tests::on_smol::connect::<R>(options.connector(plug.connector())),
        )
        .await;
        let error = match result {
            Ok(Ok(_)) => panic!("connected where it must be refused"),
            Ok(Err(e)) => e,
            Err(()) => panic!("no error within {REFUSAL_BOUND:?}"),
        };
        assert!(check(&error), "unexpected error: {error:?} ({error})");
        assert_eq!(plug.calls(), attempts, "connection attempts for {error}");
        assert!(started.elapsed() < REFUSAL_BOUND);
        eprintln!("refused as expected in {:?}: {error}", started.elapsed());
        error
    }

    fn tls_url(port: u16) -> String {
        format!("mqtts://localhost:{port}")
    }

    /// `mqtts://localhost:port` trusting `ca` (the platform's roots when
    /// `None`).
    fn tls_to(port: u16, ca: Option<std::path::PathBuf>) -> Options {
        let options = Options::from_url(&tls_url(port)).expect("url");
        match ca {
            Some(ca) => options.tls(TlsOptions::new().ca_file(ca)),
            None => options,
        }
    }

    pub async fn unknown_ca<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let port = broker.tls_port();
        refused::<R>(tls_to(port, Some(pki.other_ca_cert())), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::UnknownIssuer))
        })
        .await;
    }

    pub async fn default_roots_do_not_trust_a_private_ca<R: Runtime>(broker: &Mosquitto) {
        let port = broker.tls_port();
        refused::<R>(tls_to(port, None), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::UnknownIssuer))
        })
        .await;
    }

    pub async fn wrong_host<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let port = broker.wrong_host_tls_port();
        refused::<R>(tls_to(port, Some(pki.ca_cert())), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::NameMismatch))
        })
        .await;
    }

    pub async fn expired<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let port = broker.expired_tls_port();
        refused::<R>(tls_to(port, Some(pki.ca_cert())), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::Expired))
        })
        .await;
    }

    pub async fn missing_client_certificate<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let port = broker.mtls_port();
        refused::<R>(tls_to(port, Some(pki.ca_cert())), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::CertificateRequired))
        })
        .await;
    }

    pub async fn untrusted_client_certificate<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        // A client certificate from another PKI: the broker's CA did not
        // sign it.
        let stranger = Pki::generate();
        let options = Options::from_url(&tls_url(broker.mtls_port()))
            .expect("url")
            .tls(
                TlsOptions::new()
                    .ca_file(pki.ca_cert())
                    .client_cert_files(stranger.client_cert(), stranger.client_key()),
            );
        refused::<R>(options, broker.mtls_port(), 1, |e| {
            matches!(e, Error::Tls(TlsError::ClientCertificateRejected(_)))
        })
        .await;
    }

    pub async fn plaintext_to_tls_port<R: Runtime>(broker: &Mosquitto) {
        let options = Options::new("127.0.0.1", broker.tls_port());
        refused::<R>(options, broker.tls_port(), 1, |e| {
            matches!(
                e,
                Error::Tls(TlsError::ServerRequiresTls) | Error::ClosedBeforeConnAck
            )
        })
        .await;
    }

    pub async fn tls_to_plaintext_port<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let port = broker.port();
        refused::<R>(tls_to(port, Some(pki.ca_cert())), port, 1, |e| {
            matches!(e, Error::Tls(TlsError::NotTls))
        })
        .await;
    }

    /// A server that accepts TCP and then says nothing: the TLS (and
    /// WebSocket) handshake gives up at the connect timeout.
    pub async fn handshake_is_bounded<R: Runtime>() {
        let silent = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = silent.local_addr().expect("address").port();
        for url in [
            format!("mqtts://localhost:{port}"),
            format!("wss://localhost:{port}"),
            format!("ws://localhost:{port}"),
        ] {
            let options = Options::from_url(&url)
                .expect("url")
                .connect_timeout(Duration::from_millis(300));
            let started = Instant::now();
            let error = refused::<R>(options, port, 1, |e| matches!(e, Error::Timeout)).await;
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{url}: {error} after {:?}",
                started.elapsed()
            );
        }
        drop(silent);
    }

    /// Local configuration errors are reported before any connection is
    /// opened: zero attempts.
    pub async fn local_configuration<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let url = tls_url(broker.mtls_port());
        let port = broker.mtls_port();
        let with = |tls: TlsOptions| Options::from_url(&url).expect("url").tls(tls);
        refused::<R>(
            with(TlsOptions::new().ca_file(pki.dir().join("missing-ca.pem"))),
            port,
            0,
            |e| matches!(e, Error::Tls(TlsError::File { .. })),
        )
        .await;
        refused::<R>(
            with(
                TlsOptions::new()
                    .ca_file(pki.ca_cert())
                    .client_cert_files(pki.client_cert(), pki.other_client_key()),
            ),
            port,
            0,
            |e| matches!(e, Error::Tls(TlsError::KeyMismatch)),
        )
        .await;
        refused::<R>(
            with(
                TlsOptions::new()
                    .ca_file(pki.ca_cert())
                    .client_cert_files(pki.client_cert(), pki.ca_cert()),
            ),
            port,
            0,
            |e| matches!(e, Error::Tls(TlsError::InvalidKey(_))),
        )
        .await;
        refused::<R>(
            with(TlsOptions::new().ca_file(pki.client_key())),
            port,
            0,
            |e| matches!(e, Error::Tls(TlsError::NoCertificates { what: "CA" })),
        )
        .await;
    }

    /// Client keys in each PEM form are accepted: SEC1 (EC) and PKCS#1
    /// (RSA) beside the PKCS#8 the other tests use.
    pub async fn key_formats<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let url = tls_url(broker.mtls_port());
        for (cert, key) in [
            (pki.client_cert(), pki.client_key_sec1()),
            (pki.rsa_client_cert(), pki.rsa_client_key_pkcs1()),
        ] {
            let options = Options::from_url(&url).expect("url").tls(
                TlsOptions::new()
                    .ca_file(pki.ca_cert())
                    .client_cert_files(&cert, &key),
            );
            let client = connect::<R>(options, &format!("mTLS with {}", key.display())).await;
            within(STEP, "disconnect", client.disconnect())
                .await
                .expect("disconnect");
        }
    }

    /// A broker that authenticates the WebSocket upgrade: refused (HTTP
    /// 401) without the header, accepted with it.
    pub async fn websocket_header<R: Runtime>(broker: &Aedes) {
        let options = Options::from_url(&broker.ws_url()).expect("url");
        let error = refused::<R>(options.clone(), broker.ws_port(), 1, |e| {
            matches!(
                e,
                Error::WebSocket(WebSocketError::Rejected { status: 401 })
            )
        })
        .await;
        assert!(error.to_string().contains("401"), "{error}");
        let client = connect::<R>(
            options.websocket_header("Authorization", "Bearer test-token"),
            "with the header",
        )
        .await;
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
    }

    /// A client that was connected and then meets a certificate that will
    /// not verify keeps trying with a growing delay, not in a storm, and
    /// says why each time.
    pub async fn no_storm_after_connected<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let plug = Plug::to(broker.tls_port());
        let client = connect::<R>(
            Options::from_url(&tls_url(broker.tls_port()))
                .expect("url")
                .tls(TlsOptions::new().ca_file(pki.ca_cert()))
                .backoff(Duration::from_millis(100), Duration::from_secs(30))
                .connector(plug.connector()),
            "client",
        )
        .await;
        let events = news(&client).await;
        // From now on every attempt meets the certificate for another host.
        plug.retarget(broker.wrong_host_tls_port());
        plug.cut();
        let watch = Duration::from_secs(3);
        let started = Instant::now();
        let mut reasons = Vec::new();
        while let Ok(Ok(event)) =
            timeout(watch.saturating_sub(started.elapsed()), events.recv()).await
        {
            if let ConnectionEvent::Disconnected { reason } = event {
                reasons.push(reason);
            }
        }
        let attempts = plug.calls() - 1;
        // 100, 200, 400, 800 and 1,600 ms of backoff fit in 3 s: at most
        // six attempts with jitter, never hundreds.
        assert!(
            (1..=6).contains(&attempts),
            "{attempts} attempts in {watch:?}: {reasons:?}"
        );
        assert!(
            reasons.iter().skip(1).all(|r| matches!(
                r,
                DisconnectReason::ConnectFailed {
                    error: Error::Tls(TlsError::NameMismatch),
                    ..
                }
            )),
            "{reasons:?}"
        );
        drop(client);
    }
}

/// Several servers, and streams of the user's own.
mod servers {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::PathBuf;

    /// The first server is down: the client goes on to the second at once
    /// and says which one it uses.
    pub async fn first_server_down<R: Runtime>(broker: &Mosquitto, pki: &Pki) {
        let down = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let up = format!("mqtts://localhost:{}", broker.tls_port());
        let options = Options::from_urls([format!("mqtt://127.0.0.1:{down}"), up.clone()])
            .expect("urls")
            .tls(TlsOptions::new().ca_file(pki.ca_cert()));
        let client = connect::<R>(options, "client").await;
        let first = within(STEP, "the current state", client.events().recv()).await;
        match first {
            Ok(ConnectionEvent::Connected { server, .. }) => {
                assert_eq!(server, Server::parse(&up).expect("url"));
            }
            other => panic!("{other:?}"),
        }
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
    }

    /// The broker in use dies: the client moves to the next one, finds no
    /// session there and subscribes again, and a publish made meanwhile
    /// completes there.
    pub async fn failover<R: Runtime>(first: Mosquitto, second: &Mosquitto, pki: &Pki) {
        let a = format!("mqtts://localhost:{}", first.tls_port());
        let b = format!("mqtt://127.0.0.1:{}", second.port());
        let client = connect::<R>(
            Options::from_urls([a, b.clone()])
                .expect("urls")
                .client_id("failover")
                .clean_session(false)
                .tls(TlsOptions::new().ca_file(pki.ca_cert()))
                .backoff(Duration::from_millis(50), Duration::from_millis(500)),
            "client",
        )
        .await;
        let mut sub = client
            .subscribe("fo/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let events = news(&client).await;
        drop(first);
        let publish = client.publish("fo/during", "during", QoS::AtLeastOnce);
        let back = wait_event(&events, "Connected to the second", is_connected).await;
        match back {
            ConnectionEvent::Connected {
                session_present,
                server,
            } => {
                assert_eq!(server, Server::parse(&b).expect("url"));
                // A new broker has no session for us [MQTT-3.2.2-3].
                assert!(!session_present);
            }
            other => panic!("{other:?}"),
        }
        within(STEP, "the publish made during failover", publish)
            .await
            .expect("publish");
        let m = next_message(&mut sub, "own message through the resubscription").await;
        assert_eq!(m.topic.as_str(), "fo/during");
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
    }

    /// A relay from a Unix socket to a TCP port, on plain threads.
    struct UnixRelay {
        path: PathBuf,
    }

    impl UnixRelay {
        fn start(dir: &std::path::Path, port: u16) -> UnixRelay {
            let path = dir.join("broker.sock");
            let listener = UnixListener::bind(&path).expect("bind the Unix socket");
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    let Ok(broker) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
                        return;
                    };
                    let (mut c2, mut b2) = (
                        client.try_clone().expect("clone"),
                        broker.try_clone().expect("clone"),
                    );
                    let (mut c1, mut b1) = (client, broker);
                    std::thread::spawn(move || {
                        let _ = io::copy(&mut c1, &mut b1);
                        let _ = b1.shutdown(std::net::Shutdown::Both);
                    });
                    std::thread::spawn(move || {
                        let _ = io::copy(&mut b2, &mut c2);
                        let _ = c2.shutdown(std::net::Shutdown::Both);
                    });
                }
            });
            UnixRelay { path }
        }
    }

    /// The user's connector opens a Unix socket; TLS is layered on it as
    /// the `mqtts://` scheme asks, and it is called again to reconnect.
    pub async fn unix_socket_connector<R: Runtime>(broker: &mut Mosquitto, pki: &Pki) {
        let relay = UnixRelay::start(pki.dir(), broker.tls_port());
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let path = relay.path.clone();
        let options = Options::from_url("mqtts://localhost:1")
            .expect("url")
            .tls(TlsOptions::new().ca_file(pki.ca_cert()))
            .backoff(Duration::from_millis(50), Duration::from_millis(500))
            .connector(move |_server: Server| {
                counted.fetch_add(1, Ordering::SeqCst);
                let path = path.clone();
                async move { Async::<UnixStream>::connect(path).await }
            });
        let client = connect::<R>(options, "over the Unix socket").await;
        let mut sub = client
            .subscribe("unix/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        let events = news(&client).await;
        broker.restart();
        wait_event(&events, "Connected after the restart", is_connected).await;
        assert!(
            calls.load(Ordering::SeqCst) >= 2,
            "the connector opens every connection"
        );
        within(
            STEP,
            "publish",
            client.publish("unix/x", "x", QoS::AtLeastOnce),
        )
        .await
        .expect("publish");
        let m = next_message(&mut sub, "own message").await;
        assert_eq!(&m.payload[..], b"x");
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
    }
}

/// Runs `scenario` under [`BOUND`]; boxed so that `block_on` moves a
/// pointer, not the whole future (async-std copies what it is given).
fn bounded<'a, F: Future + 'a>(
    name: &'a str,
    scenario: F,
) -> std::pin::Pin<Box<dyn Future<Output = F::Output> + 'a>> {
    Box::pin(async move {
        match timeout(BOUND, scenario).await {
            Ok(v) => v,
            Err(()) => panic!("{name}: not finished within {BOUND:?}"),
        }
    })
}

/// One `#[test]` per (name, link, scenario), run with `$block_on`.
macro_rules! over_links {
    ($block_on:path; $($name:ident: $link:expr, $scenario:ident;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_mut)]
            let mut env = Env::start($link);
            $block_on(bounded(stringify!($name), scenarios::$scenario::<R>(&mut env)));
        }
    )*};
}

/// One `#[test]` per (name, scenario) against a mosquitto with TLS
/// listeners; the scenario's arguments are named `broker`, `broker_mut`
/// and `pki`.
macro_rules! against_mosquitto {
    ($block_on:path; $($name:ident: $module:ident::$scenario:ident($($arg:ident),*);)*) => {$(
        #[test]
        fn $name() {
            let pki = Pki::generate();
            #[allow(unused_mut, unused_variables)]
            let mut broker = Mosquitto::start_tls(&pki, "");
            $block_on(bounded(
                stringify!($name),
                $module::$scenario::<R>($(against_mosquitto!(@arg $arg, broker, pki)),*),
            ));
        }
    )*};
    (@arg broker, $broker:ident, $pki:ident) => { &$broker };
    (@arg broker_mut, $broker:ident, $pki:ident) => { &mut $broker };
    (@arg pki, $broker:ident, $pki:ident) => { &$pki };
}

/// `suite!(module, Runtime type, block_on)`: every test on one runtime.
macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path) => {
        mod $flavor {
            use super::*;

            type R = $runtime;

            over_links! { $block_on;
                tls_qos_round_trips: Link::Tls, qos_round_trips;
                mtls_qos_round_trips: Link::Mtls, qos_round_trips;
                ws_qos_round_trips: Link::Ws, qos_round_trips;
                wss_qos_round_trips: Link::Wss, qos_round_trips;
                tls_will: Link::Tls, will;
                mtls_will: Link::Mtls, will;
                ws_will: Link::Ws, will;
                wss_will: Link::Wss, will;
                tls_persistent_session: Link::Tls, persistent_session;
                mtls_persistent_session: Link::Mtls, persistent_session;
                ws_persistent_session: Link::Ws, persistent_session;
                wss_persistent_session: Link::Wss, persistent_session;
                tls_broker_restart: Link::Tls, broker_restart;
                mtls_broker_restart: Link::Mtls, broker_restart;
                ws_broker_restart: Link::Ws, broker_restart;
                wss_broker_restart: Link::Wss, broker_restart;
            }

            against_mosquitto! { $block_on;
                refuse_unknown_ca: refusals::unknown_ca(broker, pki);
                refuse_private_ca_with_default_roots:
                    refusals::default_roots_do_not_trust_a_private_ca(broker);
                refuse_wrong_host: refusals::wrong_host(broker, pki);
                refuse_expired_certificate: refusals::expired(broker, pki);
                refuse_missing_client_certificate:
                    refusals::missing_client_certificate(broker, pki);
                refuse_untrusted_client_certificate:
                    refusals::untrusted_client_certificate(broker, pki);
                refuse_plaintext_to_tls_port: refusals::plaintext_to_tls_port(broker);
                refuse_tls_to_plaintext_port: refusals::tls_to_plaintext_port(broker, pki);
                refuse_local_configuration_before_connecting:
                    refusals::local_configuration(broker, pki);
                client_key_formats: refusals::key_formats(broker, pki);
                no_reconnect_storm_on_a_bad_certificate:
                    refusals::no_storm_after_connected(broker, pki);
                first_server_down: servers::first_server_down(broker, pki);
                unix_socket_connector: servers::unix_socket_connector(broker_mut, pki);
            }

            #[test]
            fn failover_to_the_next_server() {
                let pki = Pki::generate();
                let first = Mosquitto::start_tls(&pki, "");
                let second = Mosquitto::start("");
                $block_on(bounded(
                    "failover_to_the_next_server",
                    servers::failover::<R>(first, &second, &pki),
                ));
            }

            #[test]
            fn handshake_bounded_by_connect_timeout() {
                $block_on(bounded(
                    "handshake_bounded_by_connect_timeout",
                    refusals::handshake_is_bounded::<R>(),
                ));
            }

            #[test]
            fn websocket_upgrade_headers() {
                let broker = Aedes::start(None, Some(("Authorization", "Bearer test-token")));
                $block_on(bounded(
                    "websocket_upgrade_headers",
                    refusals::websocket_header::<R>(&broker),
                ));
            }
        }
    };
}

suite!(tokio, mqtt_tokio::Tokio, super::block_on_tokio);
suite!(
    async_std,
    mqtt_async_std::AsyncStd,
    ::async_std::task::block_on
);
suite!(
    smol,
    mqtt_integration_tests::on_smol::Smol,
    ::smol::block_on
);
