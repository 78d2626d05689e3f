//! What the crash test's logs must show, judged without any process: the
//! lines the `crash_client` roles write (see its crate docs) are parsed
//! back and every rule broken is reported, not just the first.
//!
//! Publisher kills: every message the publisher saw stored reaches the
//! subscriber (nothing lost); a QoS 2 message reaches it once (the resend
//! after a restart carries the same packet id [MQTT-4.4.0-1], so the
//! broker does not take it twice [MQTT-4.3.3-2]); nothing arrives that was
//! never published.
//!
//! Subscriber kills: every message arrives; one arrives again only when
//! the subscriber was killed after logging it and before its ack was
//! committed, i.e. when that copy is the last message line before a
//! `#kill` marker.
//!
//! Automatic-subscriber kills: no QoS 2 message is logged twice, across
//! all runs [MQTT-4.3.3-2]; they come in order [MQTT-4.6.0-6]; and a
//! number is missing only where a kill explains it: right after the last
//! number logged before the kill (the first number when nothing was
//! logged yet), at most as many as the killed process could hold taken and
//! not yet logged.

use std::collections::{BTreeMap, BTreeSet};

/// The most examples listed per broken rule.
const EXAMPLES: usize = 20;

/// What the `publish` runs logged: the tag (`q1`, `q2`) of each number
/// announced with `publishing`, and the numbers logged `stored`.
#[derive(Debug, Default)]
pub struct PublisherLog {
    /// Number to tag, for every `publishing` line.
    pub publishing: BTreeMap<u64, String>,
    /// Number to tag, for every `stored` line.
    pub stored: BTreeMap<u64, String>,
}

/// Parses the publisher's log. Fails on a number announced twice (a
/// restart must go on after the last one), on `stored` without
/// `publishing`, and on lines it does not know.
pub fn parse_publisher(lines: &[String]) -> Result<PublisherLog, String> {
    let mut log = PublisherLog::default();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let (kind, n, tag) = match words[..] {
            [kind, n, tag] => match n.parse::<u64>() {
                Ok(n) => (kind, n, tag.to_owned()),
                Err(_) => return Err(format!("publisher log line {}: {line:?}", i + 1)),
            },
            _ => return Err(format!("publisher log line {}: {line:?}", i + 1)),
        };
        match kind {
            "publishing" => {
                if log.publishing.insert(n, tag).is_some() {
                    return Err(format!("number {n} was published twice (line {})", i + 1));
                }
            }
            "stored" if log.publishing.get(&n) == Some(&tag) => {
                log.stored.insert(n, tag);
            }
            _ => return Err(format!("publisher log line {}: {line:?}", i + 1)),
        }
    }
    Ok(log)
}

/// The received `(tag, number)` pairs of the subscriber's log, with how
/// often each came. Lines starting with `#` are markers.
pub fn parse_received(lines: &[String]) -> Result<BTreeMap<(String, u64), usize>, String> {
    let mut received = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split(' ');
        let parsed = match (words.next(), words.next().map(str::parse::<u64>)) {
            (Some(tag), Some(Ok(n))) => (tag.to_owned(), n),
            _ => return Err(format!("subscriber log line {}: {line:?}", i + 1)),
        };
        *received.entry(parsed).or_insert(0) += 1;
    }
    Ok(received)
}

/// The stored numbers the subscriber has not received yet.
pub fn not_received(log: &PublisherLog, received: &BTreeMap<(String, u64), usize>) -> Vec<u64> {
    log.stored
        .iter()
        .filter(|(n, tag)| !received.contains_key(&((*tag).clone(), **n)))
        .map(|(n, _)| *n)
        .collect()
}

/// The counts of a publisher-kill run that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublisherVerdict {
    /// Numbers announced with `publishing`.
    pub published: usize,
    /// Numbers logged `stored`.
    pub stored: usize,
    /// Distinct numbers received.
    pub received: usize,
    /// QoS 1 messages received more than once (allowed).
    pub qos1_duplicates: usize,
}

/// Judges a publisher-kill run: nothing stored is lost, nothing QoS 2 is
/// received twice, nothing received was never published.
pub fn judge_publisher(
    log: &PublisherLog,
    received: &BTreeMap<(String, u64), usize>,
) -> Result<PublisherVerdict, Vec<String>> {
    let mut problems = Vec::new();
    let lost = not_received(log, received);
    if !lost.is_empty() {
        problems.push(format!(
            "{} stored messages never reached the subscriber: {:?}",
            lost.len(),
            &lost[..lost.len().min(EXAMPLES)]
        ));
    }
    let twice: Vec<u64> = received
        .iter()
        .filter(|((tag, _), count)| tag == "q2" && **count > 1)
        .map(|((_, n), _)| *n)
        .collect();
    if !twice.is_empty() {
        problems.push(format!(
            "{} QoS 2 messages reached the subscriber more than once: {:?}",
            twice.len(),
            &twice[..twice.len().min(EXAMPLES)]
        ));
    }
    let unknown: Vec<(String, u64)> = received
        .keys()
        .filter(|(tag, n)| log.publishing.get(n) != Some(tag))
        .take(EXAMPLES)
        .cloned()
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "the subscriber received messages never published: {unknown:?}"
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PublisherVerdict {
        published: log.publishing.len(),
        stored: log.stored.len(),
        received: received.len(),
        qos1_duplicates: received
            .iter()
            .filter(|((tag, _), count)| tag == "q1" && **count > 1)
            .count(),
    })
}

/// The counts of a subscriber-kill run that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckVerdict {
    /// `#kill` markers.
    pub kills: usize,
    /// Message lines.
    pub deliveries: usize,
    /// Copies beyond the first: messages delivered again after a kill.
    pub redeliveries: usize,
}

/// One line of the `ack` log that matters here.
enum Entry {
    Message { n: u64, line: usize },
    Kill,
}

/// The message lines (`<n>`, maybe followed by more words) and `#kill`
/// markers of a subscriber's log, in order; other markers are skipped, and
/// a line that is neither, or a number not below `count`, is a problem.
fn entries(lines: &[String], count: u64, problems: &mut Vec<String>) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match line.as_str() {
            "#kill" => entries.push(Entry::Kill),
            marker if marker.starts_with('#') => {}
            _ => match line.split(' ').next().map(str::parse::<u64>) {
                Some(Ok(n)) if n < count => entries.push(Entry::Message { n, line: i + 1 }),
                _ => problems.push(format!("subscriber log line {}: {line:?}", i + 1)),
            },
        }
    }
    entries
}

/// Judges a subscriber-kill run over messages `0..count`: each arrives; a
/// copy followed by another copy of the same message must be the last
/// message before a kill (delivered, its ack not yet committed); any
/// other repeat means the session handed out a message it had taken.
pub fn judge_acker(lines: &[String], count: u64) -> Result<AckVerdict, Vec<String>> {
    let mut problems = Vec::new();
    let entries = entries(lines, count, &mut problems);
    let mut last_copy: BTreeMap<u64, usize> = BTreeMap::new();
    let mut taken_again = Vec::new();
    let mut redeliveries = 0;
    // Backwards, so that each copy knows whether another comes later.
    for (i, entry) in entries.iter().enumerate().rev() {
        let Entry::Message { n, line } = entry else {
            continue;
        };
        if let Some(later) = last_copy.insert(*n, *line) {
            redeliveries += 1;
            let killed_next = matches!(entries.get(i + 1), Some(Entry::Kill));
            if !killed_next {
                taken_again.push(format!("{n} (line {line}, again at line {later})"));
            }
        }
    }
    if !taken_again.is_empty() {
        taken_again.reverse();
        problems.push(format!(
            "{} messages were delivered again although their first copy was not \
             the last before a kill (acknowledged and committed): {:?}",
            taken_again.len(),
            &taken_again[..taken_again.len().min(EXAMPLES)]
        ));
    }
    let seen: BTreeSet<u64> = last_copy.keys().copied().collect();
    let lost: Vec<u64> = (0..count).filter(|n| !seen.contains(n)).collect();
    if !lost.is_empty() {
        problems.push(format!(
            "{} of {count} messages never reached the subscriber: {:?}",
            lost.len(),
            &lost[..lost.len().min(EXAMPLES)]
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let kills = entries.iter().filter(|e| matches!(e, Entry::Kill)).count();
    Ok(AckVerdict {
        kills,
        deliveries: entries.len() - kills,
        redeliveries,
    })
}

/// The counts of an automatic-subscriber-kill run that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoVerdict {
    /// `#kill` markers.
    pub kills: usize,
    /// Message lines: one per number, none repeated.
    pub deliveries: usize,
    /// Numbers logged more than once (0 in a verdict that passed).
    pub redeliveries: usize,
    /// Numbers never logged, each explained by a kill.
    pub losses: usize,
    /// The most numbers lost together, between two logged ones.
    pub longest_loss: u64,
}

/// Judges an automatic-subscriber-kill run over messages `0..count`, where
/// a killed process can have taken at most `depth` messages it had not
/// logged yet (the session took each for good before the application saw
/// it). Fails on:
/// - a number logged twice, whatever came between: the session never
///   hands a QoS 2 message out again [MQTT-4.3.3-2];
/// - a number logged after a higher one: the broker sends in order
///   [MQTT-4.6.0-6], one at a time in this scenario;
/// - a missing number no kill explains. The numbers missing between two
///   logged ones (or before the first, or after the last) were lost by
///   the kills between those two lines, each one losing the numbers right
///   after what was logged or lost before it: at most `depth` per kill.
///   With nothing logged yet, the first kill's losses start at 0.
pub fn judge_auto(lines: &[String], count: u64, depth: u64) -> Result<AutoVerdict, Vec<String>> {
    let mut problems = Vec::new();
    let entries = entries(lines, count, &mut problems);
    let mut first_line: BTreeMap<u64, usize> = BTreeMap::new();
    let (mut twice, mut out_of_order, mut unexplained) = (Vec::new(), Vec::new(), Vec::new());
    let (mut losses, mut longest_loss) = (0, 0);
    // The number after the highest logged so far, and the kills since.
    let (mut next, mut kills_since) = (0u64, 0u64);
    let mut gap = |from: u64, to: u64, kills: u64, unexplained: &mut Vec<u64>| {
        let explained = (to - from).min(kills.saturating_mul(depth));
        losses += explained as usize;
        longest_loss = longest_loss.max(explained);
        unexplained.extend(from + explained..to);
    };
    for entry in &entries {
        let &Entry::Message { n, line } = entry else {
            kills_since += 1;
            continue;
        };
        if let Some(first) = first_line.get(&n) {
            twice.push(format!("{n} (line {first}, again at line {line})"));
            continue;
        }
        first_line.insert(n, line);
        if n < next {
            out_of_order.push(format!("{n} (line {line}, after {})", next - 1));
            continue;
        }
        gap(next, n, kills_since, &mut unexplained);
        (next, kills_since) = (n + 1, 0);
    }
    gap(next, count, kills_since, &mut unexplained);
    if !twice.is_empty() {
        problems.push(format!(
            "{} QoS 2 messages were handed to the application more than once: {:?}",
            twice.len(),
            &twice[..twice.len().min(EXAMPLES)]
        ));
    }
    if !out_of_order.is_empty() {
        problems.push(format!(
            "{} messages came after a later one: {:?}",
            out_of_order.len(),
            &out_of_order[..out_of_order.len().min(EXAMPLES)]
        ));
    }
    if !unexplained.is_empty() {
        problems.push(format!(
            "{} of {count} messages never reached the application, more than the kills \
             before them explain ({depth} a kill, right after the last one logged): {:?}",
            unexplained.len(),
            &unexplained[..unexplained.len().min(EXAMPLES)]
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let kills = entries.iter().filter(|e| matches!(e, Entry::Kill)).count();
    Ok(AutoVerdict {
        kills,
        deliveries: entries.len() - kills,
        redeliveries: 0,
        losses,
        longest_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_stored_message_never_received_is_lost() {
        let log = parse_publisher(&lines(
            "publishing 0 q2\nstored 0 q2\npublishing 1 q2\nstored 1 q2\npublishing 2 q2",
        ))
        .expect("a well-formed log");
        let received = parse_received(&lines("#ready\nq2 0")).expect("a well-formed log");
        assert_eq!(not_received(&log, &received), vec![1]);
        let problems = judge_publisher(&log, &received).expect_err("1 is lost");
        assert!(problems[0].contains("[1]"), "{problems:?}");
    }

    #[test]
    fn qos2_twice_fails_qos1_twice_passes() {
        let log = parse_publisher(&lines("publishing 0 q1\npublishing 1 q2\nstored 1 q2"))
            .expect("a well-formed log");
        let once = parse_received(&lines("q1 0\nq1 0 dup\nq2 1")).expect("well-formed");
        let verdict = judge_publisher(&log, &once).expect("QoS 1 may repeat");
        assert_eq!(verdict.qos1_duplicates, 1);
        let twice = parse_received(&lines("q2 1\nq2 1 dup")).expect("well-formed");
        let problems = judge_publisher(&log, &twice).expect_err("QoS 2 must not repeat");
        assert!(problems[0].contains("more than once"), "{problems:?}");
    }

    #[test]
    fn a_number_reused_or_never_published_fails() {
        assert!(parse_publisher(&lines("publishing 3 q2\npublishing 3 q2")).is_err());
        let log = parse_publisher(&lines("publishing 0 q2")).expect("well-formed");
        let received = parse_received(&lines("q2 0\nq1 0\nq2 7")).expect("well-formed");
        let problems = judge_publisher(&log, &received).expect_err("q1 0, q2 7 unknown");
        assert!(problems[0].contains("never published"), "{problems:?}");
    }

    #[test]
    fn a_repeat_is_allowed_only_after_the_last_message_before_a_kill() {
        let allowed = lines("#ready\n0\n1\n#kill\n#ready\n1 dup\n2\n#kill\n2 dup\n#kill\n2 dup\n3");
        // 1 and 2 each came last before a kill; 2's second copy too.
        let verdict = judge_acker(&allowed, 4).expect("every repeat follows a kill");
        assert_eq!((verdict.kills, verdict.redeliveries), (3, 3));
        let taken_again = lines("0\n1\n2\n#kill\n1 dup\n2\n3");
        let problems = judge_acker(&taken_again, 4).expect_err("1 was committed");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("1 (line 2, again at line 5)"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_message_that_never_arrives_is_lost() {
        let problems = judge_acker(&lines("0\n#kill\n2"), 3).expect_err("1 is lost");
        assert!(problems[0].contains("[1]"), "{problems:?}");
    }

    #[test]
    fn a_loss_is_allowed_only_right_after_the_last_number_before_a_kill() {
        // 2 was taken by the first killed run, 5 and 6 by the next two.
        let allowed = lines("#ready\n0\n1\n#kill\n#ready\n3\n4\n#kill\n#kill\n7");
        let verdict = judge_auto(&allowed, 8, 1).expect("each loss follows a kill");
        assert_eq!((verdict.kills, verdict.deliveries), (3, 5));
        assert_eq!((verdict.losses, verdict.longest_loss), (3, 2));
        // Nothing logged before the first kill: it may have lost 0.
        let first = judge_auto(&lines("#ready\n#kill\n1\n2"), 3, 1).expect("0 after a kill");
        assert_eq!(first.losses, 1);
        let problems = judge_auto(&lines("#kill\n2"), 3, 1).expect_err("1 is not explained");
        assert!(problems[0].contains("[1]"), "{problems:?}");
    }

    #[test]
    fn a_loss_no_kill_explains_fails() {
        let problems = judge_auto(&lines("0\n2\n3"), 4, 3).expect_err("no kill before 2");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("[1]"), "{problems:?}");
        // One kill, at most `depth` lost after 0: 1 to 3, not 4.
        let problems = judge_auto(&lines("0\n#kill\n5"), 6, 3).expect_err("4 is one too many");
        assert!(problems[0].contains("[4]"), "{problems:?}");
        assert_eq!(
            judge_auto(&lines("0\n#kill\n4"), 5, 3).map(|v| v.losses),
            Ok(3)
        );
        // At the end too: the numbers after the last one logged.
        assert_eq!(
            judge_auto(&lines("0\n1\n#kill"), 3, 1).map(|v| v.losses),
            Ok(1)
        );
        let problems = judge_auto(&lines("0\n1\n#kill"), 4, 1).expect_err("3 is not explained");
        assert!(problems[0].contains("[3]"), "{problems:?}");
    }

    #[test]
    fn any_repeat_of_an_automatic_delivery_fails() {
        // Even right after a kill: the session took 1 before handing it out.
        let problems = judge_auto(&lines("0\n1\n#kill\n1 dup\n2"), 3, 3).expect_err("1 came twice");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("1 (line 2, again at line 4)"),
            "{problems:?}"
        );
        let problems = judge_auto(&lines("0\n#kill\n2\n1"), 3, 3).expect_err("1 after 2");
        assert!(problems[0].contains("1 (line 4, after 2)"), "{problems:?}");
    }
}
