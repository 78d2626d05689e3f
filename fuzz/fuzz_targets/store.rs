//! Arbitrary bytes as the records of a session store: each chunk (lengths
//! taken from the input) through `StoreOp::decode`, which never panics; an
//! op it accepts encodes back to the same bytes; the ops fold into a
//! `StoredSession` whose compacted ops rebuild it, and a connection restored
//! from it either starts or fails with a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_proto::store::{StoreOp, StoredSession};
use mqtt_proto::{Connection, MqttString, Options};

fuzz_target!(|data: &[u8]| {
    let mut session = StoredSession::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (record, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(op) = StoreOp::decode(record) {
            let mut again = Vec::new();
            op.encode(&mut again);
            assert_eq!(again, record, "{op:?}");
            session.apply(op);
        }
    }
    let mut compacted = StoredSession::new();
    for op in session.ops() {
        compacted.apply(op);
    }
    assert_eq!(compacted, session);
    let options = Options::new(MqttString::from_static("fuzz").unwrap())
        .clean_session(false)
        .store(true);
    let _ = Connection::restore(options, &session);
});
