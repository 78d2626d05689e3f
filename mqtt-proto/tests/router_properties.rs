//! Property tests of the subscription router: after any sequence of inserts
//! and removals, `Router::matches` returns exactly the keys for which
//! `topic::matches` holds for some filter they still hold, and the router's
//! bookkeeping (`len`, `has_filter`, `distinct_filters`, what `remove_key`
//! reports as unused) agrees with a plain set of (filter, key) pairs.
//!
//! The alphabets are tiny (two letters, `$`, empty levels, `+`, `#`) so that
//! filters collide, overlap and share prefixes, and `$` names meet leading
//! wildcards [MQTT-4.7.2-1].

use mqtt_proto::topic::matches;
use mqtt_proto::{Router, TopicFilter, TopicName};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    let level = prop_oneof![
        Just("a"),
        Just("b"),
        Just(""),
        Just("$"),
        Just("$a"),
        Just("+"),
    ];
    (prop::collection::vec(level, 0..4), any::<bool>()).prop_map(|(levels, hash)| {
        let mut levels: Vec<&str> = levels;
        if hash || levels.is_empty() {
            levels.push("#");
        }
        let mut filter = levels.join("/");
        if filter.is_empty() {
            // A single empty level: not a valid filter [MQTT-4.7.3-1].
            filter.push('a');
        }
        TopicFilter::try_from(filter).unwrap()
    })
}

fn topic_name() -> impl Strategy<Value = TopicName> {
    let level = prop_oneof![Just("a"), Just("b"), Just(""), Just("$"), Just("$a")];
    prop::collection::vec(level, 1..5).prop_map(|levels| {
        let mut name = levels.join("/");
        if name.is_empty() {
            name.push('a');
        }
        TopicName::try_from(name).unwrap()
    })
}

#[derive(Debug, Clone)]
enum Op {
    Insert(TopicFilter, u8),
    Remove(TopicFilter, u8),
    RemoveKey(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..6u8;
    prop_oneof![
        5 => (topic_filter(), key.clone()).prop_map(|(f, k)| Op::Insert(f, k)),
        3 => (topic_filter(), key.clone()).prop_map(|(f, k)| Op::Remove(f, k)),
        1 => key.prop_map(Op::RemoveKey),
    ]
}

/// The reference: a set of (filter, key) pairs and a linear scan.
#[derive(Default)]
struct Model(BTreeSet<(TopicFilter, u8)>);

impl Model {
    fn matches(&self, name: &TopicName) -> Vec<u8> {
        let keys: BTreeSet<u8> = self
            .0
            .iter()
            .filter(|(f, _)| matches(f, name))
            .map(|&(_, k)| k)
            .collect();
        keys.into_iter().collect()
    }

    fn has_filter(&self, filter: &TopicFilter) -> bool {
        self.0.iter().any(|(f, _)| f == filter)
    }

    fn distinct_filters(&self) -> Vec<TopicFilter> {
        let filters: BTreeSet<TopicFilter> = self.0.iter().map(|(f, _)| f.clone()).collect();
        filters.into_iter().collect()
    }
}

fn apply(router: &mut Router<u8>, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Insert(f, k) => {
            prop_assert_eq!(router.insert(f, *k), model.0.insert((f.clone(), *k)));
        }
        Op::Remove(f, k) => {
            prop_assert_eq!(router.remove(f, *k), model.0.remove(&(f.clone(), *k)));
        }
        Op::RemoveKey(k) => {
            let held: Vec<TopicFilter> = model
                .0
                .iter()
                .filter(|(_, key)| key == k)
                .map(|(f, _)| f.clone())
                .collect();
            model.0.retain(|(_, key)| key != k);
            let unused: Vec<TopicFilter> =
                held.into_iter().filter(|f| !model.has_filter(f)).collect();
            prop_assert_eq!(router.remove_key(*k), unused);
        }
    }
    prop_assert_eq!(router.len(), model.0.len());
    prop_assert_eq!(router.is_empty(), model.0.is_empty());
    Ok(())
}

fn check(
    router: &Router<u8>,
    model: &Model,
    names: &[TopicName],
    probes: &[TopicFilter],
) -> Result<(), TestCaseError> {
    for name in names {
        let mut got = Vec::new();
        router.matches(name, &mut got);
        prop_assert_eq!(&got, &model.matches(name), "name {:?}", name);
    }
    for filter in probes {
        prop_assert_eq!(router.has_filter(filter), model.has_filter(filter));
    }
    prop_assert_eq!(router.distinct_filters(), model.distinct_filters());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_agrees_with_topic_matches(
        pairs in prop::collection::vec((topic_filter(), 0..6u8), 0..24),
        names in prop::collection::vec(topic_name(), 1..16),
    ) {
        let mut router = Router::new();
        let mut model = Model::default();
        for (f, k) in pairs {
            apply(&mut router, &mut model, &Op::Insert(f, k))?;
        }
        let probes = model.distinct_filters();
        check(&router, &model, &names, &probes)?;
    }

    #[test]
    fn agrees_after_insertions_and_removals(
        ops in prop::collection::vec(op(), 0..48),
        names in prop::collection::vec(topic_name(), 1..16),
        probes in prop::collection::vec(topic_filter(), 0..8),
    ) {
        let mut router = Router::new();
        let mut model = Model::default();
        for (i, op) in ops.iter().enumerate() {
            apply(&mut router, &mut model, op)?;
            if i % 8 == 7 {
                check(&router, &model, &names, &probes)?;
            }
        }
        check(&router, &model, &names, &probes)?;
        // Emptying the router by keys reports every filter exactly once.
        let mut unused = Vec::new();
        for k in 0..6u8 {
            unused.extend(router.remove_key(k));
        }
        unused.sort();
        prop_assert_eq!(unused, model.distinct_filters());
        prop_assert!(router.is_empty());
        prop_assert!(router.distinct_filters().is_empty());
    }

    #[test]
    fn matches_keeps_what_out_held(
        pairs in prop::collection::vec((topic_filter(), 0..6u8), 0..16),
        name in topic_name(),
        prefix in prop::collection::vec(0..6u8, 0..4),
    ) {
        let mut router = Router::new();
        for (f, k) in &pairs {
            router.insert(f, *k);
        }
        let mut alone = Vec::new();
        router.matches(&name, &mut alone);
        let mut out = prefix.clone();
        router.matches(&name, &mut out);
        prop_assert_eq!(&out[..prefix.len()], &prefix[..]);
        prop_assert_eq!(&out[prefix.len()..], &alone[..]);
    }
}
