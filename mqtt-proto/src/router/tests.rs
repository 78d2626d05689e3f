//! Unit tests of the router: matching, removal, `$` topics, edge cases.
use super::*;
use alloc::string::String;
use alloc::vec;

fn f(s: &str) -> TopicFilter {
    TopicFilter::try_from(s).unwrap()
}

fn lookup(router: &Router<u64>, name: &str) -> Vec<u64> {
    let mut out = Vec::new();
    router.matches(&TopicName::try_from(name).unwrap(), &mut out);
    out
}

fn router(pairs: &[(&str, u64)]) -> Router<u64> {
    let mut router = Router::new();
    for &(filter, key) in pairs {
        assert!(router.insert(&f(filter), key), "{filter} {key}");
    }
    router
}

/// Number of nodes in the trie, root included.
fn node_count<K>(node: &Node<K>) -> usize {
    1 + node.literal.values().map(node_count).sum::<usize>()
        + node.plus.as_deref().map_or(0, node_count)
}

#[test]
fn multi_level_wildcard_examples() {
    // [MQTT-4.7.1-2]: `#` matches the parent level and any number of
    // levels below it.
    let r = router(&[("sport/tennis/player1/#", 1), ("sport/#", 2), ("#", 3)]);
    assert_eq!(lookup(&r, "sport/tennis/player1"), [1, 2, 3]);
    assert_eq!(lookup(&r, "sport/tennis/player1/ranking"), [1, 2, 3]);
    assert_eq!(
        lookup(&r, "sport/tennis/player1/score/wimbledon"),
        [1, 2, 3]
    );
    assert_eq!(lookup(&r, "sport"), [2, 3]);
    assert_eq!(lookup(&r, "sport/"), [2, 3]);
    assert_eq!(lookup(&r, "sport/tennis"), [2, 3]);
    assert_eq!(lookup(&r, "sports"), [3]);
    assert_eq!(lookup(&r, "/sport"), [3]);
}

#[test]
fn single_level_wildcard_examples() {
    // [MQTT-4.7.1-3]: `+` matches exactly one level, an empty one too.
    let r = router(&[
        ("sport/tennis/+", 1),
        ("sport/+", 2),
        ("+/+", 3),
        ("/+", 4),
        ("+", 5),
        ("+/tennis/#", 6),
    ]);
    assert_eq!(lookup(&r, "sport/tennis/player1"), [1, 6]);
    assert_eq!(lookup(&r, "sport/tennis/player2"), [1, 6]);
    assert_eq!(lookup(&r, "sport/tennis/player1/ranking"), [6]);
    assert_eq!(lookup(&r, "sport"), [5]);
    assert_eq!(lookup(&r, "sport/"), [2, 3]);
    assert_eq!(lookup(&r, "/finance"), [3, 4]);
    assert_eq!(lookup(&r, "/"), [3, 4]);
    assert_eq!(lookup(&r, "sport/tennis"), [2, 3, 6]);
    assert_eq!(lookup(&r, "a//b"), Vec::<u64>::new());
}

#[test]
fn dollar_topics_are_not_matched_by_leading_wildcards() {
    // [MQTT-4.7.2-1]
    let r = router(&[
        ("#", 1),
        ("+/monitor/Clients", 2),
        ("$SYS/#", 3),
        ("$SYS/monitor/+", 4),
        ("+/#", 5),
        ("$SYS/+/Clients", 6),
    ]);
    assert_eq!(lookup(&r, "$SYS/monitor/Clients"), [3, 4, 6]);
    assert_eq!(lookup(&r, "$SYS"), [3]);
    assert_eq!(lookup(&r, "$"), Vec::<u64>::new());
    // The rule is about the first level only.
    assert_eq!(lookup(&r, "a/$SYS"), [1, 5]);
    assert_eq!(lookup(&r, "x/monitor/Clients"), [1, 2, 5]);
}

#[test]
fn literal_and_empty_levels() {
    let r = router(&[("a/b", 1), ("a//b", 2), ("/", 3), ("a/", 4)]);
    assert_eq!(lookup(&r, "a/b"), [1]);
    assert_eq!(lookup(&r, "a//b"), [2]);
    assert_eq!(lookup(&r, "/"), [3]);
    assert_eq!(lookup(&r, "a/"), [4]);
    assert_eq!(lookup(&r, "a"), Vec::<u64>::new());
    assert_eq!(lookup(&r, "A/b"), Vec::<u64>::new());
    assert_eq!(lookup(&r, "a/b/c"), Vec::<u64>::new());
}

#[test]
fn overlapping_filters_reach_every_key_once() {
    let r = router(&[
        ("home/+/temp", 7),
        ("home/#", 7),
        ("home/kitchen/temp", 7),
        ("home/kitchen/temp", 2),
        ("#", 9),
        ("home/+/humidity", 4),
    ]);
    assert_eq!(r.len(), 6);
    assert_eq!(lookup(&r, "home/kitchen/temp"), [2, 7, 9]);
    assert_eq!(lookup(&r, "home/kitchen/humidity"), [4, 7, 9]);
}

#[test]
fn matches_appends_after_what_out_held() {
    let r = router(&[("a/+", 3), ("a/#", 3), ("a/b", 1)]);
    let mut out = vec![5, 3];
    r.matches(&TopicName::try_from("a/b").unwrap(), &mut out);
    assert_eq!(out, [5, 3, 1, 3]);
    r.matches(&TopicName::try_from("x").unwrap(), &mut out);
    assert_eq!(out, [5, 3, 1, 3]);
}

#[test]
fn insert_is_idempotent_per_pair() {
    let mut r = router(&[("a/+", 1)]);
    assert!(!r.insert(&f("a/+"), 1));
    assert!(r.insert(&f("a/+"), 2));
    assert!(r.insert(&f("a/#"), 1));
    assert_eq!(r.len(), 3);
    assert!(r.contains(&f("a/#"), 1));
    assert!(!r.contains(&f("a/#"), 2));
    assert_eq!(r.distinct_filters(), [f("a/#"), f("a/+")]);
}

#[test]
fn remove_prunes_empty_nodes() {
    let mut r = Router::new();
    assert_eq!(node_count(&r.root), 1);
    r.insert(&f("a/b/c/d"), 1);
    r.insert(&f("a/b"), 1);
    r.insert(&f("a/+/c/#"), 2);
    let full = node_count(&r.root);
    assert_eq!(full, 1 + 4 + 2); // root, a, b, c, d, +, +/c

    r.insert(&f("x/y/z"), 3);
    assert!(r.remove(&f("x/y/z"), 3));
    assert_eq!(node_count(&r.root), full);

    assert!(!r.remove(&f("a/b/c/d"), 2));
    assert!(!r.remove(&f("a/b/c"), 1));
    assert!(!r.remove(&f("a/+/c"), 2));
    assert!(r.remove(&f("a/b/c/d"), 1));
    // c and d went; b stays for "a/b".
    assert_eq!(node_count(&r.root), full - 2);
    assert!(!r.has_filter(&f("a/b/c/d")));
    assert!(r.has_filter(&f("a/b")));

    assert!(r.remove(&f("a/+/c/#"), 2));
    assert_eq!(node_count(&r.root), 3); // root, a, b
    assert!(r.remove(&f("a/b"), 1));
    assert_eq!(node_count(&r.root), 1);
    assert!(r.is_empty());
    assert!(r.by_key.is_empty());
}

#[test]
fn remove_keeps_nodes_that_hold_other_keys() {
    // The node at "a" holds "a/#" and the node at "a/b" the key of "a/b":
    // removing the deeper filter keeps both.
    let mut r = router(&[("a/#", 1), ("a/b/c", 2), ("a/b", 3)]);
    assert!(r.remove(&f("a/b/c"), 2));
    assert_eq!(node_count(&r.root), 3);
    assert_eq!(lookup(&r, "a/b"), [1, 3]);
    // A node holding both an exact and a `#` key.
    let mut r = router(&[("a", 1), ("a/#", 2)]);
    assert!(r.remove(&f("a"), 1));
    assert_eq!(lookup(&r, "a"), [2]);
    assert!(r.remove(&f("a/#"), 2));
    assert_eq!(node_count(&r.root), 1);
    // `#` and `+` at the root.
    let mut r = router(&[("#", 1), ("+", 2)]);
    assert!(r.remove(&f("#"), 1));
    assert_eq!(lookup(&r, "a"), [2]);
    assert!(r.remove(&f("+"), 2));
    assert_eq!(node_count(&r.root), 1);
}

#[test]
fn remove_key_returns_exactly_the_unused_filters() {
    let mut r = router(&[
        ("a/b", 1),
        ("a/+", 1),
        ("#", 1),
        ("a/+", 2),
        ("c", 2),
        ("#", 3),
    ]);
    assert_eq!(r.remove_key(1), [f("a/b")]);
    assert_eq!(r.len(), 3);
    assert_eq!(lookup(&r, "a/b"), [2, 3]);
    assert!(r.remove_key(1).is_empty());
    assert_eq!(r.remove_key(2), [f("a/+"), f("c")]);
    assert_eq!(r.distinct_filters(), [f("#")]);
    assert_eq!(r.remove_key(3), [f("#")]);
    assert!(r.is_empty());
    assert_eq!(node_count(&r.root), 1);
    assert!(r.distinct_filters().is_empty());
}

#[test]
fn ten_thousand_filters_make_a_trie() {
    // One client of the integration tests holds 10,000 subscriptions. A
    // lookup walks the levels of the name, never the list of filters.
    let mut r = Router::new();
    for i in 0..10_000u64 {
        let filter = alloc::format!("dev/{}/{}/temp", i / 100, i % 100);
        assert!(r.insert(&f(&filter), i));
    }
    assert_eq!(r.len(), 10_000);
    // root, dev, 100 groups, 10,000 ids, 10,000 "temp" leaves.
    assert_eq!(node_count(&r.root), 2 + 100 + 2 * 10_000);
    assert_eq!(r.root.literal.len(), 1);
    let dev = r.root.literal.get("dev").unwrap();
    assert_eq!(dev.literal.len(), 100);
    assert_eq!(lookup(&r, "dev/42/7/temp"), [4207]);
    assert_eq!(lookup(&r, "dev/42/7"), Vec::<u64>::new());
    assert!(r.insert(&f("dev/+/+/temp"), 10_000));
    assert_eq!(lookup(&r, "dev/99/99/temp"), [9999, 10_000]);
    for i in 0..10_000u64 {
        assert_eq!(r.remove_key(i).len(), 1);
    }
    assert_eq!(r.len(), 1);
    assert_eq!(node_count(&r.root), 5);
}

#[test]
fn very_deep_filters_do_not_overflow_the_stack() {
    // The longest filter has 65,535 bytes: 32,768 levels of one byte.
    let mut deep = "a/".repeat(32_767);
    deep.push('a');
    let mut r = router(&[(deep.as_str(), 1)]);
    assert_eq!(lookup(&r, &deep), [1]);
    let mut slashes = String::from("+");
    slashes.push_str(&"/".repeat(65_534));
    assert!(r.insert(&f(&slashes), 2));
    assert!(r.remove(&f(&deep), 1));
    assert!(r.has_filter(&f(&slashes)));
    drop(r);
}
