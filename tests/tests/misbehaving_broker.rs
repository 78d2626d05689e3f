//! Brokers that misbehave on purpose, scripted byte by byte
//! (`mqtt_integration_tests::scripted`), and what the client must do about
//! each: the typed error or reason it reports, whether it closes the
//! connection or answers, how often it reconnects, and that its memory
//! stays small. Every scenario runs on tokio, async-std and smol.
//!
//! Normative statements of MQTT 3.1.1 are cited as [MQTT-x.y.z-n].

use mqtt_client::mqtt_proto::packet::{ConnectReturnCode, Packet};
use mqtt_client::mqtt_proto::ProtocolViolation;
use mqtt_client::{Client, ConnectionEvent, DisconnectReason, Error, Options, QoS, Runtime};
use mqtt_integration_tests::scripted::{Peer, ScriptedBroker};
use mqtt_integration_tests::wait::block_on_tokio;
use mqtt_integration_tests::wait::{sleep, within};
use std::future::Future;
use std::time::{Duration, Instant};

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_SESSION: [u8; 4] = [0x20, 0x02, 0x01, 0x00];
/// How long a scenario watches the client after the misbehaviour.
const WATCH: Duration = Duration::from_secs(2);
/// Reconnects allowed in [`WATCH`] with a 100 ms minimum backoff that
/// doubles: 100, 200, 400, 800 ms, with jitter.
const MAX_CONNECTIONS: usize = 6;

fn options(broker: &ScriptedBroker) -> Options {
    Options::new("127.0.0.1", broker.port())
        .keep_alive(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(1))
        .backoff(Duration::from_millis(100), Duration::from_secs(5))
}

/// `Client::<R>::connect`; the smol flavour's driver is spawned on smol
/// through `Options::spawner` (see `mqtt_integration_tests::on_smol`).
fn connect<R: Runtime>(options: Options) -> impl Future<Output = Result<Client<R>, Error>> {
    mqtt_integration_tests::on_smol::connect::<R>(options)
}

/// A PUBLISH as bytes, however wrong its fields.
fn publish(qos: u8, dup: bool, pid: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&pid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut out = vec![0x30 | (qos << 1) | if dup { 0x08 } else { 0 }];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(&body);
    out
}

/// This process's peak resident memory, in MiB.
fn peak_rss_mib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Every scenario ends here: memory stayed small (each test is its own
/// process under nextest; the bound leaves room for the runtime and the
/// test harness).
fn memory_stayed_small() {
    let peak = peak_rss_mib();
    assert!(peak < 96, "peak RSS {peak} MiB");
}

/// The script's verdict after the misbehaviour: did the client hang up?
fn closed_or_open(peer: &mut Peer) -> String {
    if peer.closed_by_client(Duration::from_secs(3)) {
        "closed".into()
    } else {
        "open".into()
    }
}

/// `Client::connect` against a broker that runs `script` must fail with an
/// error `check` accepts, within `limit`, after exactly one connection.
async fn refused_at_connect<R: Runtime>(
    script: impl Fn(&mut Peer, usize) -> String + Send + Sync + 'static,
    options: impl FnOnce(&ScriptedBroker) -> Options,
    limit: Duration,
    check: impl Fn(&Error) -> bool,
) {
    let broker = ScriptedBroker::start(script);
    let started = Instant::now();
    let result = within(limit, "Client::connect", connect::<R>(options(&broker))).await;
    let error = match result {
        Ok(_) => panic!("connected to a broker that must be refused"),
        Err(e) => e,
    };
    assert!(check(&error), "unexpected error: {error:?} ({error})");
    assert!(started.elapsed() < limit);
    assert_eq!(
        broker.finish(Duration::from_secs(1)).len(),
        1,
        "one attempt: {error}"
    );
    memory_stayed_small();
}

/// Connects to a broker whose script misbehaves after CONNACK; expects the
/// client to report a lost connection whose reason contains `reason`, to
/// have closed the first connection itself, and to reconnect calmly.
async fn closes_after<R: Runtime>(
    misbehave: impl Fn(&mut Peer) + Send + Sync + 'static,
    reason: &str,
) {
    let broker = ScriptedBroker::start(move |peer, _| {
        if !peer.expect_connect() {
            return "no CONNECT".into();
        }
        peer.send(&CONNACK);
        misbehave(peer);
        closed_or_open(peer)
    });
    let client = within(
        Duration::from_secs(5),
        "connect",
        connect::<R>(options(&broker)),
    )
    .await
    .expect("the CONNACK accepts the connection");
    let events = client.events();
    let lost = within(Duration::from_secs(5), "Disconnected", async {
        loop {
            match events.recv().await {
                Ok(ConnectionEvent::Disconnected { reason }) => return reason,
                Ok(_) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    assert!(
        matches!(lost, DisconnectReason::ProtocolViolation(_)) && lost.to_string().contains(reason),
        "reason {lost:?} should be a protocol violation naming {reason:?}"
    );
    sleep(WATCH).await;
    let connections = broker.connections();
    drop(client);
    let verdicts = broker.finish(Duration::from_secs(4));
    assert_eq!(
        verdicts.first().cloned().flatten().as_deref(),
        Some("closed"),
        "the client closes the connection [MQTT-4.8.0-1]"
    );
    assert!(
        (2..=MAX_CONNECTIONS).contains(&connections),
        "{connections} connections in {WATCH:?}"
    );
    memory_stayed_small();
}

mod scenarios {
    use super::*;

    // ---- before CONNACK -------------------------------------------------

    pub async fn reserved_connack_code<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.send(&[0x20, 0x02, 0x00, 0x06]);
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| matches!(e, Error::Protocol(ProtocolViolation::Malformed(_))),
        )
        .await;
    }

    pub async fn publish_before_connack<R: Runtime>() {
        // The first packet from the server is CONNACK; anything else breaks
        // the protocol and closes the connection [MQTT-4.8.0-1].
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.send(&publish(0, false, 0, "early", b"x"));
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| matches!(e, Error::Protocol(ProtocolViolation::UnexpectedPacket(_))),
        )
        .await;
    }

    pub async fn session_present_on_clean_session<R: Runtime>() {
        // [MQTT-3.2.2-1]
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.send(&CONNACK_SESSION);
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| {
                matches!(
                    e,
                    Error::Protocol(ProtocolViolation::SessionPresentOnCleanSession)
                )
            },
        )
        .await;
    }

    pub async fn hangs_up_at_once<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.hang_up();
                String::new()
            },
            options,
            Duration::from_secs(2),
            |e| matches!(e, Error::ClosedBeforeConnAck),
        )
        .await;
    }

    pub async fn http_server<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| matches!(e, Error::Protocol(ProtocolViolation::Malformed(_))),
        )
        .await;
    }

    pub async fn silent_after_accept<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                closed_or_open(peer)
            },
            |b| options(b).connect_timeout(Duration::from_millis(500)),
            Duration::from_secs(2),
            |e| matches!(e, Error::Timeout),
        )
        .await;
    }

    pub async fn refuses_credentials<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.send(&[0x20, 0x02, 0x00, 0x05]);
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| {
                matches!(e, Error::Refused(ConnectReturnCode::NotAuthorized))
                    && e.to_string().contains("not authorized")
            },
        )
        .await;
    }

    pub async fn unavailable<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.send(&[0x20, 0x02, 0x00, 0x03]);
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(2),
            |e| matches!(e, Error::Refused(ConnectReturnCode::ServerUnavailable)),
        )
        .await;
    }

    pub async fn connack_too_slow<R: Runtime>() {
        refused_at_connect::<R>(
            |peer, _| {
                peer.expect_connect();
                peer.trickle(&CONNACK, Duration::from_millis(400));
                closed_or_open(peer)
            },
            options,
            Duration::from_secs(3),
            |e| matches!(e, Error::Timeout),
        )
        .await;
    }

    /// A CONNACK that arrives a byte at a time, within the timeout, is fine.
    pub async fn connack_trickles_in<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.trickle(&CONNACK, Duration::from_millis(100));
            closed_or_open(peer)
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker).connect_timeout(Duration::from_secs(2))),
        )
        .await
        .expect("a slow but whole CONNACK");
        drop(client);
        memory_stayed_small();
    }

    // ---- after CONNACK: the client must close ---------------------------

    pub async fn reserved_flags<R: Runtime>() {
        // [MQTT-2.2.2-2]: PUBACK's flags are 0000.
        closes_after::<R>(|p| p.send(&[0x41, 0x02, 0x00, 0x01]), "malformed").await;
    }

    pub async fn trailing_bytes<R: Runtime>() {
        // PINGRESP has no body; one byte more is malformed.
        closes_after::<R>(|p| p.send(&[0xD0, 0x01, 0x00]), "malformed").await;
    }

    pub async fn reserved_packet_type<R: Runtime>() {
        // [MQTT-2.2.2-2]: type 15 is reserved in 3.1.1.
        closes_after::<R>(|p| p.send(&[0xF0, 0x00]), "malformed").await;
    }

    pub async fn second_connack<R: Runtime>() {
        closes_after::<R>(|p| p.send(&CONNACK), "second CONNACK").await;
    }

    pub async fn ack_for_unknown_id<R: Runtime>() {
        closes_after::<R>(|p| p.send(&[0x40, 0x02, 0x00, 0x09]), "unknown packet id").await;
    }

    pub async fn publish_with_packet_id_zero<R: Runtime>() {
        // [MQTT-2.3.1-1]
        closes_after::<R>(|p| p.send(&publish(1, false, 0, "a", b"x")), "malformed").await;
    }

    pub async fn wildcard_in_topic_name<R: Runtime>() {
        // [MQTT-3.3.2-2]
        closes_after::<R>(|p| p.send(&publish(0, false, 0, "a/+", b"x")), "malformed").await;
    }

    pub async fn oversized_packet<R: Runtime>() {
        // A PUBLISH announcing 256 MiB: refused from its fixed header,
        // before anything is buffered.
        closes_after::<R>(|p| p.send(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F]), "malformed").await;
    }

    pub async fn no_pingresp<R: Runtime>() {
        // Silence after CONNACK: the keep-alive PINGREQ goes unanswered
        // [MQTT-3.1.2-23], and the client gives up on the connection.
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            closed_or_open(peer)
        });
        let started = Instant::now();
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker).keep_alive(Duration::from_secs(1))),
        )
        .await
        .expect("connect");
        let events = client.events();
        let lost = within(Duration::from_secs(4), "Disconnected", async {
            loop {
                if let Ok(ConnectionEvent::Disconnected { reason }) = events.recv().await {
                    return reason;
                }
            }
        })
        .await;
        assert!(
            matches!(lost, DisconnectReason::KeepAliveTimeout),
            "{lost:?}"
        );
        assert!(lost.to_string().contains("PINGREQ"), "{lost}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(4));
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("closed")
        );
        memory_stayed_small();
    }

    pub async fn half_a_packet_then_silence<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            peer.send(&[0x30, 0x10, 0x00]);
            closed_or_open(peer)
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker).keep_alive(Duration::from_secs(1))),
        )
        .await
        .expect("connect");
        sleep(Duration::from_secs(3)).await;
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(4));
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("closed"),
            "a half packet does not hold the connection open past keep-alive"
        );
        memory_stayed_small();
    }

    /// SUBACK with a return code 3.1.1 does not have (0x8F, a 5.0 code):
    /// malformed, so the client closes; the subscribe fails with a timeout
    /// instead of hanging, one SUBSCRIBE per connection, calm reconnects.
    pub async fn suback_with_a_5_0_code<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            let mut subscribes = 0;
            for packet in peer.packets_for(Duration::from_millis(300)) {
                if let Packet::Subscribe(s) = packet {
                    subscribes += 1;
                    let pid = s.pid.get().to_be_bytes();
                    peer.send(&[0x90, 0x03, pid[0], pid[1], 0x8F]);
                }
            }
            format!("{subscribes} {}", closed_or_open(peer))
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker).request_timeout(Duration::from_millis(1500))),
        )
        .await
        .expect("connect");
        let started = Instant::now();
        let result = within(
            Duration::from_secs(5),
            "subscribe",
            client.subscribe("acl/#", QoS::AtLeastOnce),
        )
        .await;
        assert!(matches!(result, Err(Error::RequestTimeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(4));
        assert!(verdicts.len() <= MAX_CONNECTIONS, "{verdicts:?}");
        for v in verdicts.iter().flatten() {
            assert!(
                v == "1 closed" || v == "0 closed",
                "one SUBSCRIBE per connection, closed by the client: {verdicts:?}"
            );
        }
        memory_stayed_small();
    }

    pub async fn suback_never_comes<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            closed_or_open(peer)
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker).request_timeout(Duration::from_millis(500))),
        )
        .await
        .expect("connect");
        let result = within(
            Duration::from_secs(3),
            "subscribe",
            client.subscribe("never/#", QoS::AtMostOnce),
        )
        .await;
        assert!(matches!(result, Err(Error::RequestTimeout)), "{result:?}");
        drop(client);
        memory_stayed_small();
    }

    /// A broker that keeps losing the session and never answers SUBSCRIBE
    /// gets that SUBSCRIBE once per connection, not once more each time.
    pub async fn forgetful_and_silent<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            let n = peer
                .packets_for(Duration::from_millis(300))
                .iter()
                .filter(|p| matches!(p, Packet::Subscribe(_)))
                .count();
            peer.hang_up();
            n.to_string()
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(
                options(&broker).backoff(Duration::from_millis(20), Duration::from_millis(20)),
            ),
        )
        .await
        .expect("connect");
        let outcome = futures_lite::future::or(
            async { Some(client.subscribe("a/#", QoS::AtLeastOnce).await) },
            async {
                sleep(Duration::from_secs(3)).await;
                None
            },
        )
        .await;
        assert!(outcome.is_none(), "no SUBACK was sent: {outcome:?}");
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(2));
        let whole: Vec<_> = verdicts.iter().flatten().cloned().collect();
        assert!(whole.len() >= 4, "reconnects: {verdicts:?}");
        // The first connection may close before the SUBSCRIBE is made, and
        // the last may be cut by dropping the client before it is resent.
        assert!(
            whole[1..whole.len() - 1].iter().all(|n| n == "1"),
            "SUBSCRIBEs per connection: {verdicts:?}"
        );
    }

    // ---- after CONNACK: the client must answer --------------------------

    /// PUBREL for an id the client does not hold is answered with PUBCOMP
    /// (its PUBCOMP may be what was lost) [MQTT-4.3.3-2].
    pub async fn pubrel_for_unknown_id<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            peer.send(&[0x62, 0x02, 0x00, 0x2A]);
            match peer.packet(Duration::from_secs(2)) {
                Some(Packet::PubComp(c)) if c.pid.get() == 42 => "pubcomp".into(),
                other => format!("{other:?}"),
            }
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker)),
        )
        .await
        .expect("connect");
        sleep(Duration::from_millis(500)).await;
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(3));
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("pubcomp")
        );
        memory_stayed_small();
    }

    /// A QoS 2 message sent again before its PUBREL, with or without DUP,
    /// and again on a resumed session: delivered once [MQTT-4.3.3-2].
    pub async fn qos2_redelivered<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, n| {
            peer.expect_connect();
            if n == 0 {
                peer.send(&CONNACK);
                // Wait for the SUBSCRIBE, answer it, then send the message
                // three times: new, again without DUP, again with DUP.
                let Some(Packet::Subscribe(s)) = peer.packet(Duration::from_secs(2)) else {
                    return "no SUBSCRIBE".into();
                };
                let pid = s.pid.get().to_be_bytes();
                peer.send(&[0x90, 0x03, pid[0], pid[1], 0x02]);
                // Each copy, once the client owns the message, is answered
                // with PUBREC and not delivered again.
                let mut recs = 0;
                for dup in [false, false, true] {
                    peer.send(&publish(2, dup, 7, "q2/x", b"once"));
                    if let Some(Packet::PubRec(r)) = peer.packet(Duration::from_secs(2)) {
                        if r.pid.get() == 7 {
                            recs += 1;
                        }
                    }
                }
                // Cut before PUBREL; the session resumes on the next one.
                peer.hang_up();
                return format!("{recs} PUBREC");
            }
            peer.send(&CONNACK_SESSION);
            if n > 1 {
                // Released already: nothing more to say.
                return closed_or_open(peer);
            }
            peer.send(&publish(2, true, 7, "q2/x", b"once"));
            let rec = peer.packet(Duration::from_secs(2));
            peer.send(&[0x62, 0x02, 0x00, 0x07]);
            let comp = peer.packet(Duration::from_secs(2));
            match (rec, comp) {
                (Some(Packet::PubRec(_)), Some(Packet::PubComp(_))) => "released".into(),
                other => format!("{other:?}"),
            }
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(
                options(&broker)
                    .client_id("q2")
                    .clean_session(false)
                    .backoff(Duration::from_millis(50), Duration::from_millis(50)),
            ),
        )
        .await
        .expect("connect");
        let mut sub = within(
            Duration::from_secs(3),
            "subscribe",
            client.subscribe("q2/#", QoS::ExactlyOnce),
        )
        .await
        .expect("subscribe");
        let first = within(Duration::from_secs(3), "the message", sub.next())
            .await
            .expect("a message");
        assert_eq!(&first.payload[..], b"once");
        let again = futures_lite::future::or(async { sub.next().await }, async {
            sleep(Duration::from_secs(2)).await;
            None
        })
        .await;
        drop(sub);
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(3));
        assert!(
            again.is_none(),
            "delivered twice: {again:?}; broker saw {verdicts:?}"
        );
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("3 PUBREC")
        );
        assert_eq!(
            verdicts.get(1).cloned().flatten().as_deref(),
            Some("released")
        );
        memory_stayed_small();
    }

    /// A QoS 1 message sent again with DUP is at-least-once: acknowledged
    /// each time, echoing its id [MQTT-2.3.1-6], never lost.
    pub async fn qos1_redelivered<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, _| {
            peer.expect_connect();
            peer.send(&CONNACK);
            let Some(Packet::Subscribe(s)) = peer.packet(Duration::from_secs(2)) else {
                return "no SUBSCRIBE".into();
            };
            let pid = s.pid.get().to_be_bytes();
            peer.send(&[0x90, 0x03, pid[0], pid[1], 0x01]);
            peer.send(&publish(1, false, 5, "q1/x", b"m"));
            let first = peer.packet(Duration::from_secs(2));
            peer.send(&publish(1, true, 5, "q1/x", b"m"));
            let second = peer.packet(Duration::from_secs(2));
            match (first, second) {
                (Some(Packet::PubAck(_)), Some(Packet::PubAck(_))) => "acked twice".into(),
                other => format!("{other:?}"),
            }
        });
        let client = within(
            Duration::from_secs(3),
            "connect",
            connect::<R>(options(&broker)),
        )
        .await
        .expect("connect");
        let mut sub = within(
            Duration::from_secs(3),
            "subscribe",
            client.subscribe("q1/#", QoS::AtLeastOnce),
        )
        .await
        .expect("subscribe");
        let m = within(Duration::from_secs(3), "the message", sub.next())
            .await
            .expect("a message");
        assert_eq!(&m.payload[..], b"m");
        assert!(!m.dup);
        // Acknowledged already, so the copy is handed out again, marked as
        // a redelivery [MQTT-3.3.1-1].
        let again = within(Duration::from_secs(3), "the copy", sub.next())
            .await
            .expect("a message");
        assert!(again.dup && &again.payload[..] == b"m", "{again:?}");
        sleep(Duration::from_millis(500)).await;
        drop(sub);
        drop(client);
        let verdicts = broker.finish(Duration::from_secs(3));
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("acked twice")
        );
        memory_stayed_small();
    }
}

/// Boxed for `block_on` (async-std copies what it is given).
fn boxed<'a, F: Future + 'a>(f: F) -> std::pin::Pin<Box<dyn Future<Output = F::Output> + 'a>> {
    Box::pin(f)
}

macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path; $($name:ident)*) => {
        mod $flavor {
            use super::*;
            $(
                #[test]
                fn $name() {
                    $block_on(boxed(scenarios::$name::<$runtime>()));
                }
            )*
        }
    };
}

macro_rules! every_runtime {
    ($($name:ident)*) => {
        suite!(tokio, mqtt_tokio::Tokio, super::block_on_tokio; $($name)*);
        suite!(async_std, mqtt_async_std::AsyncStd, ::async_std::task::block_on; $($name)*);
        suite!(smol, mqtt_integration_tests::on_smol::Smol, ::smol::block_on; $($name)*);
    };
}

every_runtime! {
    reserved_connack_code
    publish_before_connack
    session_present_on_clean_session
    hangs_up_at_once
    http_server
    silent_after_accept
    refuses_credentials
    unavailable
    connack_too_slow
    connack_trickles_in
    reserved_flags
    trailing_bytes
    reserved_packet_type
    second_connack
    ack_for_unknown_id
    publish_with_packet_id_zero
    wildcard_in_topic_name
    oversized_packet
    no_pingresp
    half_a_packet_then_silence
    suback_with_a_5_0_code
    suback_never_comes
    forgetful_and_silent
    pubrel_for_unknown_id
    qos2_redelivered
    qos1_redelivered
}
