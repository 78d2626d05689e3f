//! The broker matrix: the four brokers the interoperability suite runs
//! against, behind one type, each started by its own harness on a free
//! loopback port with a generated config.
//!
//! | broker | harness | how it is installed |
//! |---|---|---|
//! | mosquitto | [`crate::broker`] | Debian's package (`scripts/ensure-mosquitto`) |
//! | rumqttd | [`crate::rumqttd`] | crates.io, pinned (`scripts/ensure-rumqttd`) |
//! | aedes | [`crate::aedes`] | npm, pinned by its lock file (`scripts/ensure-aedes`) |
//! | amqtt | [`crate::amqtt`] | PyPI, pinned (`scripts/ensure-amqtt`) |
//!
//! Every broker is configured alike where it has the setting: anonymous
//! clients, MQTT 3.1.1 on TCP, packets up to 20 MB, offline queues and
//! inflight windows of at least a thousand messages.

use std::net::SocketAddr;

use crate::aedes::Aedes;
use crate::amqtt::Amqtt;
use crate::broker::Mosquitto;
use crate::rumqttd::Rumqttd;

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Eclipse mosquitto (C).
    Mosquitto,
    /// rumqttd (Rust).
    Rumqttd,
    /// aedes on Node.js.
    Aedes,
    /// amqtt (Python, asyncio).
    Amqtt,
}

impl Kind {
    /// Every broker of the matrix.
    pub const ALL: [Kind; 4] = [Kind::Mosquitto, Kind::Rumqttd, Kind::Aedes, Kind::Amqtt];

    /// Its name, as the test modules and the README table spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mosquitto => "mosquitto",
            Kind::Rumqttd => "rumqttd",
            Kind::Aedes => "aedes",
            Kind::Amqtt => "amqtt",
        }
    }
}

/// The mosquitto settings of the matrix: packets up to 20 MB (0 lifts the
/// payload limit), as the other brokers are configured.
const MOSQUITTO: &str = "message_size_limit 0\nmax_packet_size 20000000";

/// mosquitto that keeps sessions across a restart. A finite inflight window:
/// with an unlimited one, mosquitto 2.0 restores released QoS 2 messages as
/// PUBLISH after a restart (see the client suite's restart test).
const MOSQUITTO_PERSISTENT: &str = "message_size_limit 0\nmax_packet_size 20000000\n\
     persistence true\nautosave_interval 1\nmax_inflight_messages 100";

#[derive(Debug)]
enum Running {
    Mosquitto(Mosquitto),
    Rumqttd(Rumqttd),
    Aedes(Aedes),
    Amqtt(Amqtt),
}

/// A running broker of the matrix, owned by one test: stopped and cleaned
/// up on drop (its log printed when the test panics).
#[derive(Debug)]
pub struct Broker {
    kind: Kind,
    persistent: bool,
    running: Running,
}

impl Broker {
    /// Starts `kind` with the matrix's config, keeping sessions in memory
    /// only. Panics (loudly, naming the install script) when the broker is
    /// not installed or does not come up.
    pub fn start(kind: Kind) -> Broker {
        let running = match kind {
            Kind::Mosquitto => Running::Mosquitto(Mosquitto::start(MOSQUITTO)),
            Kind::Rumqttd => Running::Rumqttd(Rumqttd::start()),
            Kind::Aedes => Running::Aedes(Aedes::start(None, None)),
            Kind::Amqtt => Running::Amqtt(Amqtt::start()),
        };
        Broker {
            kind,
            persistent: false,
            running,
        }
    }

    /// Starts `kind` so that it keeps sessions and retained messages across
    /// a [`restart`](Self::restart), or `None` for a broker that cannot:
    /// rumqttd keeps everything in memory, and so does aedes as run here
    /// (its persistence is a separate database server). amqtt keeps them
    /// with its SQLite session plugin.
    pub fn start_persistent(kind: Kind) -> Option<Broker> {
        let running = match kind {
            Kind::Mosquitto => Running::Mosquitto(Mosquitto::start(MOSQUITTO_PERSISTENT)),
            Kind::Amqtt => Running::Amqtt(Amqtt::start_persistent()),
            Kind::Rumqttd | Kind::Aedes => return None,
        };
        Some(Broker {
            kind,
            persistent: true,
            running,
        })
    }

    /// Which broker this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether it was started to keep sessions across restarts.
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        match &self.running {
            Running::Mosquitto(b) => b.port(),
            Running::Rumqttd(b) => b.port(),
            Running::Aedes(b) => b.port(),
            Running::Amqtt(b) => b.port(),
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        match &self.running {
            Running::Mosquitto(b) => b.addr(),
            Running::Rumqttd(b) => b.addr(),
            Running::Aedes(b) => b.addr(),
            Running::Amqtt(b) => b.addr(),
        }
    }

    /// Everything the broker logged so far.
    pub fn log(&self) -> String {
        match &self.running {
            Running::Mosquitto(b) => b.log(),
            Running::Rumqttd(b) => b.log(),
            Running::Aedes(b) => b.log(),
            Running::Amqtt(b) => b.log(),
        }
    }

    /// Stops the broker gracefully and starts it again on the same port
    /// with the same config; connected clients see their transport close.
    /// Call it on the thread that started the broker (see
    /// [`Mosquitto::restart`]).
    pub fn restart(&mut self) {
        match &mut self.running {
            Running::Mosquitto(b) => b.restart(),
            Running::Rumqttd(b) => b.restart(),
            Running::Aedes(b) => b.restart(),
            Running::Amqtt(b) => b.restart(),
        }
    }
}
