//! Routing incoming topic names to the subscriptions whose filter matches.
//!
//! Owns one thing: a map from topic filters to caller-chosen keys (an
//! adapter's subscription ids), and the question "which keys does a PUBLISH
//! to this topic name reach?". It knows nothing of sessions, packets,
//! channels or QoS; the matching rules are those of [`topic::matches`]
//! (section 4.7), which the property tests check it against.
//!
//! The filters live in a trie with one edge per topic level, so a lookup
//! costs in proportion to the levels of the name and the wildcard branches
//! actually present, not to the number of subscriptions.
//!
//! [`topic::matches`]: crate::topic::matches

use crate::topic::{TopicFilter, TopicName};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

/// Routes topic names to the keys of the subscriptions whose filter matches.
///
/// A key may hold several filters and a filter may be held by several keys;
/// each (filter, key) pair is stored once. `K` is whatever identifies a
/// subscription to the caller, typically a `u64` id.
///
/// ```
/// use mqtt_proto::{Router, TopicFilter, TopicName};
///
/// fn f(s: &str) -> TopicFilter {
///     TopicFilter::try_from(s).unwrap()
/// }
/// let mut router = Router::new();
/// router.insert(&f("sport/tennis/+"), 1u64);
/// router.insert(&f("sport/#"), 2);
/// router.insert(&f("sport/#"), 1);
///
/// let mut keys = Vec::new();
/// router.matches(&TopicName::try_from("sport/tennis/player1").unwrap(), &mut keys);
/// assert_eq!(keys, [1, 2]); // key 1 matches twice but is listed once
///
/// // Dropping key 1 leaves "sport/#" in use by key 2: only the other filter
/// // is no longer wanted by anyone.
/// assert_eq!(router.remove_key(1), [f("sport/tennis/+")]);
/// assert!(router.has_filter(&f("sport/#")));
/// ```
pub struct Router<K> {
    root: Node<K>,
    /// The filters of each key: the inverse of the trie, for `remove_key`
    /// and `distinct_filters` without a walk over the whole trie.
    by_key: BTreeMap<K, BTreeSet<TopicFilter>>,
    /// Number of (filter, key) pairs.
    len: usize,
    /// How many keys hold each filter: `has_filter` by the filter itself,
    /// since a shared subscription and its inner filter share a trie node.
    holders: BTreeMap<TopicFilter, usize>,
}

/// One topic level of the trie. The root stands before the first level.
struct Node<K> {
    /// Children reached by a literal level (possibly the empty level).
    literal: BTreeMap<Box<str>, Node<K>>,
    /// Child reached by a `+` level.
    plus: Option<Box<Node<K>>>,
    /// Keys whose filter ends at this node. Sorted, no duplicates.
    exact: Vec<K>,
    /// Keys whose filter is this node's path followed by `/#` (or `#` alone
    /// at the root). Sorted, no duplicates.
    hash: Vec<K>,
}

/// Where in its last node a filter puts its key.
#[derive(Clone, Copy)]
enum End {
    Exact,
    Hash,
}

/// Splits a filter into the levels that lead to its node and where the key
/// goes there. `None` means the root itself (the filter `#`).
fn parse(filter: &str) -> (Option<&str>, End) {
    // A shared subscription routes what its inner filter matches.
    let filter = crate::topic::unshared(filter);
    if filter == "#" {
        (None, End::Hash)
    } else if let Some(path) = filter.strip_suffix("/#") {
        (Some(path), End::Hash)
    } else {
        (Some(filter), End::Exact)
    }
}

fn levels(path: Option<&str>) -> impl Iterator<Item = &str> {
    path.into_iter().flat_map(|p| p.split('/'))
}

/// The first level of `s` and the rest after its `/`, if there is one.
fn split_level(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((level, rest)) => (level, Some(rest)),
        None => (s, None),
    }
}

impl<K> Default for Node<K> {
    fn default() -> Self {
        Node {
            literal: BTreeMap::new(),
            plus: None,
            exact: Vec::new(),
            hash: Vec::new(),
        }
    }
}

impl<K> Drop for Node<K> {
    /// Drops the subtree iteratively: a filter may have tens of thousands of
    /// levels, and the derived recursive drop would overflow the stack.
    fn drop(&mut self) {
        if self.literal.is_empty() && self.plus.is_none() {
            return;
        }
        let mut stack: Vec<Node<K>> = Vec::new();
        self.detach_children(&mut stack);
        while let Some(mut node) = stack.pop() {
            node.detach_children(&mut stack);
            // `node` is dropped here without children.
        }
    }
}

impl<K> Node<K> {
    fn detach_children(&mut self, into: &mut Vec<Node<K>>) {
        into.extend(core::mem::take(&mut self.literal).into_values());
        if let Some(plus) = self.plus.take() {
            into.push(*plus);
        }
    }

    fn child(&self, level: &str) -> Option<&Node<K>> {
        if level == "+" {
            self.plus.as_deref()
        } else {
            self.literal.get(level)
        }
    }

    fn child_mut(&mut self, level: &str) -> Option<&mut Node<K>> {
        if level == "+" {
            self.plus.as_deref_mut()
        } else {
            self.literal.get_mut(level)
        }
    }

    fn child_or_insert(&mut self, level: &str) -> &mut Node<K> {
        if level == "+" {
            self.plus.get_or_insert_with(Box::default)
        } else {
            self.literal.entry(Box::from(level)).or_default()
        }
    }

    fn remove_child(&mut self, level: &str) {
        if level == "+" {
            self.plus = None;
        } else {
            self.literal.remove(level);
        }
    }

    fn child_count(&self) -> usize {
        self.literal.len() + usize::from(self.plus.is_some())
    }

    fn keys(&self, end: End) -> &Vec<K> {
        match end {
            End::Exact => &self.exact,
            End::Hash => &self.hash,
        }
    }

    fn keys_mut(&mut self, end: End) -> &mut Vec<K> {
        match end {
            End::Exact => &mut self.exact,
            End::Hash => &mut self.hash,
        }
    }

    /// Appends the keys this node contributes to a name whose levels up to
    /// here matched, and queues the children that the next level reaches.
    /// `wildcards` is false only at the root for a `$` name [MQTT-4.7.2-1].
    fn visit<'n, 's>(
        &'n self,
        rest: Option<&'s str>,
        wildcards: bool,
        out: &mut Vec<K>,
        stack: &mut Vec<(&'n Node<K>, Option<&'s str>)>,
    ) where
        K: Copy,
    {
        if wildcards {
            // `#` matches this level's name as well as everything below it.
            out.extend_from_slice(&self.hash);
        }
        let Some(rest) = rest else {
            out.extend_from_slice(&self.exact);
            return;
        };
        let (level, rest) = split_level(rest);
        if let Some(child) = self.literal.get(level) {
            stack.push((child, rest));
        }
        if wildcards {
            if let Some(child) = self.plus.as_deref() {
                stack.push((child, rest));
            }
        }
    }
}

impl<K: Copy + Ord> Default for Router<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy + Ord> Router<K> {
    /// An empty router.
    ///
    /// ```
    /// use mqtt_proto::Router;
    ///
    /// let router: Router<u64> = Router::new();
    /// assert!(router.is_empty());
    /// ```
    pub fn new() -> Self {
        Router {
            root: Node::default(),
            by_key: BTreeMap::new(),
            len: 0,
            holders: BTreeMap::new(),
        }
    }

    /// Subscribes `key` to `filter`. Returns false if the pair was already
    /// there (and changes nothing then).
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let mut router = Router::new();
    /// let filter = TopicFilter::try_from("a/#").unwrap();
    /// assert!(router.insert(&filter, 1u32));
    /// assert!(!router.insert(&filter, 1)); // already there
    /// assert_eq!(router.len(), 1);
    /// ```
    pub fn insert(&mut self, filter: &TopicFilter, key: K) -> bool {
        let (path, end) = parse(filter);
        let mut node = &mut self.root;
        for level in levels(path) {
            node = node.child_or_insert(level);
        }
        let keys = node.keys_mut(end);
        match keys.binary_search(&key) {
            Ok(_) => false,
            Err(at) => {
                keys.insert(at, key);
                self.by_key.entry(key).or_default().insert(filter.clone());
                *self.holders.entry(filter.clone()).or_default() += 1;
                self.len += 1;
                true
            }
        }
    }

    /// Unsubscribes `key` from `filter`. Returns whether the pair was there.
    /// Trie nodes left without keys or children are pruned.
    ///
    /// Whether another key still holds `filter` is [`has_filter`](Self::has_filter).
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let mut router = Router::new();
    /// let filter = TopicFilter::try_from("a/#").unwrap();
    /// router.insert(&filter, 1u32);
    /// router.insert(&filter, 2);
    /// assert!(router.remove(&filter, 1));
    /// assert!(!router.remove(&filter, 1));
    /// assert!(router.has_filter(&filter)); // key 2 still holds it
    /// ```
    pub fn remove(&mut self, filter: &TopicFilter, key: K) -> bool {
        let Some(filters) = self.by_key.get_mut(&key) else {
            return false;
        };
        if !filters.remove(filter) {
            return false;
        }
        if filters.is_empty() {
            self.by_key.remove(&key);
        }
        self.len -= 1;
        self.release(filter);
        self.remove_from_trie(filter, key);
        true
    }

    /// Unsubscribes `key` from every filter it holds. Returns, sorted, the
    /// filters that no other key holds any more: what to UNSUBSCRIBE from.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let (a, b) = (TopicFilter::try_from("a").unwrap(), TopicFilter::try_from("b").unwrap());
    /// let mut router = Router::new();
    /// router.insert(&a, 1u32);
    /// router.insert(&b, 1);
    /// router.insert(&b, 2);
    /// assert_eq!(router.remove_key(1), [a]); // "b" is still wanted by key 2
    /// ```
    pub fn remove_key(&mut self, key: K) -> Vec<TopicFilter> {
        let Some(filters) = self.by_key.remove(&key) else {
            return Vec::new();
        };
        let mut unused = Vec::new();
        for filter in filters {
            self.len -= 1;
            self.release(&filter);
            self.remove_from_trie(&filter, key);
            if !self.has_filter(&filter) {
                unused.push(filter);
            }
        }
        unused
    }

    /// Whether any key holds exactly `filter`.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let mut router = Router::new();
    /// router.insert(&TopicFilter::try_from("a/+").unwrap(), 1u32);
    /// assert!(router.has_filter(&TopicFilter::try_from("a/+").unwrap()));
    /// assert!(!router.has_filter(&TopicFilter::try_from("a/#").unwrap())); // exact filters only
    /// ```
    pub fn has_filter(&self, filter: &TopicFilter) -> bool {
        self.holders.contains_key(filter)
    }

    /// Whether `key` holds `filter`.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let filter = TopicFilter::try_from("a/+").unwrap();
    /// let mut router = Router::new();
    /// router.insert(&filter, 1u32);
    /// assert!(router.contains(&filter, 1));
    /// assert!(!router.contains(&filter, 2));
    /// ```
    pub fn contains(&self, filter: &TopicFilter, key: K) -> bool {
        self.by_key
            .get(&key)
            .is_some_and(|filters| filters.contains(filter))
    }

    /// Appends to `out`, in ascending order and each once, the keys holding
    /// a filter that matches `name` (section 4.7). A key matched through
    /// several filters is appended once; what `out` already held is left
    /// as it is.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter, TopicName};
    ///
    /// let mut router = Router::new();
    /// router.insert(&TopicFilter::try_from("#").unwrap(), 1u32);
    /// router.insert(&TopicFilter::try_from("$SYS/#").unwrap(), 2);
    /// let mut keys = Vec::new();
    /// router.matches(&TopicName::try_from("$SYS/uptime").unwrap(), &mut keys);
    /// assert_eq!(keys, [2]); // "#" does not match "$" topics
    /// ```
    pub fn matches(&self, name: &TopicName, out: &mut Vec<K>) {
        let start = out.len();
        // A name starting with `$` is not matched by a filter starting with
        // a wildcard [MQTT-4.7.2-1]; deeper wildcards apply as usual.
        let dollar = name.starts_with('$');
        let mut stack = Vec::new();
        self.root
            .visit(Some(name.as_str()), !dollar, out, &mut stack);
        while let Some((node, rest)) = stack.pop() {
            node.visit(rest, true, out, &mut stack);
        }
        if start == 0 {
            out.sort_unstable();
            out.dedup();
        } else if out.len() > start + 1 {
            let mut found = out.split_off(start);
            found.sort_unstable();
            found.dedup();
            out.append(&mut found);
        }
    }

    /// The number of (filter, key) pairs.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let filter = TopicFilter::try_from("a").unwrap();
    /// let mut router = Router::new();
    /// router.insert(&filter, 1u32);
    /// router.insert(&filter, 2);
    /// assert_eq!(router.len(), 2); // two (filter, key) pairs
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no key holds any filter.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let mut router = Router::new();
    /// router.insert(&TopicFilter::try_from("a").unwrap(), 1u32);
    /// router.remove_key(1);
    /// assert!(router.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every filter held by at least one key, sorted, each once: what to
    /// SUBSCRIBE to again after a session was lost.
    ///
    /// ```
    /// use mqtt_proto::{Router, TopicFilter};
    ///
    /// let (a, b) = (TopicFilter::try_from("a").unwrap(), TopicFilter::try_from("b").unwrap());
    /// let mut router = Router::new();
    /// router.insert(&b, 1u32);
    /// router.insert(&a, 2);
    /// router.insert(&b, 2);
    /// assert_eq!(router.distinct_filters(), [a, b]);
    /// ```
    pub fn distinct_filters(&self) -> Vec<TopicFilter> {
        let mut filters: Vec<TopicFilter> = self.by_key.values().flatten().cloned().collect();
        filters.sort_unstable();
        filters.dedup();
        filters
    }

    /// One key fewer holds `filter`.
    fn release(&mut self, filter: &TopicFilter) {
        if let Some(n) = self.holders.get_mut(filter) {
            *n -= 1;
            if *n == 0 {
                self.holders.remove(filter);
            }
        }
    }

    /// Removes the pair from the trie (the caller has already checked that it
    /// is there) and prunes the chain of nodes it leaves empty.
    fn remove_from_trie(&mut self, filter: &str, key: K) {
        let (path, end) = parse(filter);
        // First pass, read-only: find the deepest node on the path that stays
        // (the root, or a node with keys or with another child). If the last
        // node becomes empty, everything below that one goes.
        let mut keep = 0;
        let mut node = &self.root;
        for (depth, level) in levels(path).enumerate() {
            if depth == 0
                || !node.exact.is_empty()
                || !node.hash.is_empty()
                || node.child_count() > 1
            {
                keep = depth;
            }
            match node.child(level) {
                Some(child) => node = child,
                None => return,
            }
        }
        let last_empties = !core::ptr::eq(node, &self.root)
            && node.child_count() == 0
            && node.keys(end).as_slice() == [key]
            && match end {
                End::Exact => node.hash.is_empty(),
                End::Hash => node.exact.is_empty(),
            };

        // Second pass: cut the emptied chain, or just drop the key.
        let mut node = &mut self.root;
        for (depth, level) in levels(path).enumerate() {
            if last_empties && depth == keep {
                node.remove_child(level);
                return;
            }
            match node.child_mut(level) {
                Some(child) => node = child,
                None => return,
            }
        }
        let keys = node.keys_mut(end);
        if let Ok(at) = keys.binary_search(&key) {
            keys.remove(at);
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for Router<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("len", &self.len)
            .field("filters_by_key", &self.by_key)
            .finish()
    }
}

#[cfg(test)]
mod tests;
