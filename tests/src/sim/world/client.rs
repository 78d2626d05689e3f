//! One simulated client: its `Connection`, built with the session policy
//! the simulation exercises (reconnect with backoff over one or two
//! servers, a lost-session policy), its link, and the trackers that check
//! what it does.

use super::super::policy::PolicyCheck;
use super::super::subs::SubsCheck;
use super::super::tracker::{PidTracker, PublishTracker};
use super::super::wire::{Level, Reader};
use super::super::Rng;
use super::{Link, KEEP_ALIVE, PING_TIMEOUT};
use core::time::Duration;
use mqtt_proto::packet::Protocol;
use mqtt_proto::{
    Connection, Event, Instant, MqttString, Options, ReconnectOptions, SessionLostPolicy,
};

/// How long a connection attempt may take, opening and CONNACK together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The clients' backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

pub struct Client {
    pub id: String,
    pub conn: Connection,
    pub link: Option<Link>,
    /// The transport being opened for `Event::OpenTransport`.
    pub(super) opening: Option<Opening>,
    /// When the application starts the client (again, after a close).
    pub(super) restart_at: Option<Instant>,
    /// The application asked for a close whose `Disconnected` is to come.
    pub(super) closing: bool,
    /// The client gave up after a final refusal: its run is over.
    pub gave_up: bool,
    /// The broker answered a request (PUBACK, PUBCOMP, SUBACK, UNSUBACK)
    /// the client acted on, on its latest transport: a healthy connection,
    /// as far as the backoff is concerned.
    pub(super) healthy: bool,
    pub tracker: PidTracker,
    pub publishes: PublishTracker,
    pub policy: PolicyCheck,
    pub subs: SubsCheck,
    pub events: Vec<Event>,
    /// Manual-ack tokens the application has not used yet.
    pub(super) unacked: Vec<mqtt_proto::AckToken>,
    /// The protocol level it speaks; at 5.0, the Topic Alias Maximum it
    /// takes from the broker.
    pub level: Level,
    pub(super) alias_max: u16,
    /// Reads what it writes on its current connection (topic aliases live
    /// as long as one).
    pub(super) tx_reader: Reader,
}

/// A transport on its way: at `at` it opens (or fails to); a hung one
/// never does, and the attempt's deadline ends it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Opening {
    pub(super) at: Option<Instant>,
    pub(super) opens: bool,
}

impl Client {
    /// A client; at 5.0 (`v5` has its generator) with topic aliases both
    /// ways and maybe a Receive Maximum of its own.
    pub(super) fn new(
        id: &str,
        clean: bool,
        seed: u64,
        rng: &mut Rng,
        fail: bool,
        v5: Option<&mut Rng>,
    ) -> Client {
        let servers = 1 + rng.below(2) as usize;
        let reconnect = ReconnectOptions::new(servers)
            .backoff(BACKOFF_MIN, BACKOFF_MAX)
            .seed(seed);
        let session_lost = if fail {
            SessionLostPolicy::Fail
        } else {
            SessionLostPolicy::ResendAsNew
        };
        let options = Options::new(MqttString::try_from(id).expect("valid id"))
            .clean_session(clean)
            .keep_alive(KEEP_ALIVE)
            .ping_timeout(PING_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .max_inflight([1, 2, 8][rng.below(3) as usize])
            .max_queued([4, 64][rng.below(2) as usize])
            .manual_acks(rng.chance(0.3))
            .reconnect(reconnect)
            .session_lost(session_lost);
        let (level, alias_max, options) = match v5 {
            None => (Level::V311, 0, options),
            Some(r) => {
                let incoming = [0, 1, 3][r.below(3) as usize];
                let outgoing = [0, 2, 5][r.below(3) as usize];
                let receive = [2, 5, u16::MAX][r.below(3) as usize];
                let options = options
                    .protocol(Protocol::V5)
                    .topic_aliases(incoming, outgoing)
                    .receive_maximum(receive);
                (Level::V5, incoming, options)
            }
        };
        Client {
            id: id.to_string(),
            conn: Connection::new(options).expect("valid options"),
            link: None,
            opening: None,
            // The application starts every client at once.
            restart_at: Some(Instant::ZERO),
            closing: false,
            gave_up: false,
            healthy: false,
            tracker: PidTracker::default(),
            publishes: PublishTracker::new(clean, fail),
            policy: PolicyCheck::new(id, servers, BACKOFF_MIN, BACKOFF_MAX, KEEP_ALIVE),
            subs: SubsCheck::new(id),
            events: Vec::new(),
            unacked: Vec::new(),
            level,
            alias_max,
            tx_reader: Reader::new(level),
        }
    }
}
