//! Keeps `CONFORMANCE.md` honest: every test it names must exist and still
//! cite the statement it is listed for, no statement the core owns may be
//! listed as untested, and each table must list exactly the statements of
//! its checklist in `conformance/`. Regenerate the tables with
//! `scripts/conformance.py`.
//!
//! A 3.1.1 statement is cited as `MQTT-x.y.z-n`, a 5.0 one as
//! `5.0 MQTT-x.y.z-n`; a citation preceded by "5.0 " never counts for 3.1.1.

use std::path::Path;

/// Whether `source` cites `id`: as `5.0 <id>` for 5.0, or as a bare `<id>`
/// not preceded by "5.0 " for 3.1.1 (word boundaries on both sides, as the
/// script's `\b`).
fn cites(source: &str, id: &str, v5: bool) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    source.match_indices(id).any(|(at, _)| {
        let before = &source[..at];
        let after = source[at + id.len()..].chars().next();
        if word(after) || word(before.chars().next_back()) {
            return false;
        }
        match before.strip_suffix("5.0 ") {
            Some(rest) => v5 && !word(rest.chars().next_back()),
            None => !v5,
        }
    })
}

/// The ids of a checklist, in order.
fn checklist(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().map(|l| l.split('\t').collect::<Vec<_>>()),
        Some(vec!["id", "section", "paraphrase"]),
        "{}: header",
        path.display()
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

/// The table rows (`| MQTT-...`) under the `## <heading>` of `table`.
fn section<'a>(table: &'a str, heading: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut rows = Vec::new();
    for line in table.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            inside = title.trim() == heading;
        } else if inside && line.starts_with("| MQTT-") {
            rows.push(line);
        }
    }
    rows
}

/// Checks one table's rows; returns their ids.
fn check_rows(root: &Path, rows: &[&str], v5: bool) -> Vec<String> {
    let version = if v5 { "5.0" } else { "3.1.1" };
    let mut ids = Vec::new();
    for line in rows {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (id, owner, checked) = (cells[1], cells[2], cells[3]);
        ids.push(id.to_string());
        assert!(
            !checked.contains("not yet tested"),
            "{version} {id} is listed as untested"
        );
        let mut named = 0;
        for entry in checked.split('`').skip(1).step_by(2) {
            named += 1;
            let (file, test) = match entry.split_once("::") {
                Some((file, test)) => (file, Some(test)),
                None => (entry.split(' ').next().unwrap_or(entry), None),
            };
            let source = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|e| panic!("{version} {id}: {file} is gone: {e}"));
            assert!(
                cites(&source, id, v5),
                "{version} {id}: {file} no longer cites it{}",
                if v5 { " as `5.0 <id>`" } else { "" }
            );
            if let Some(test) = test {
                assert!(
                    source.contains(&format!("fn {test}("))
                        || source.contains(&format!("fn {test}<")),
                    "{version} {id}: {file} has no fn {test}"
                );
            }
        }
        // A statement only an adapter can meet, or (5.0) one describing a
        // situation the client never creates, may name no test.
        assert!(
            named > 0 || owner == "adapter" || (v5 && owner == "n/a"),
            "{version} {id} ({owner}) names no test"
        );
    }
    ids
}

#[test]
fn conformance_table_matches_the_tests() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.parent().expect("workspace root");
    let table = std::fs::read_to_string(crate_dir.join("CONFORMANCE.md")).expect("CONFORMANCE.md");

    let v311 = check_rows(root, &section(&table, "MQTT 3.1.1"), false);
    assert_eq!(
        v311.len(),
        73,
        "the checklist has 73 client-side statements"
    );
    assert_eq!(
        v311,
        checklist(&crate_dir.join("conformance/mqtt-3.1.1-client-statements.tsv")),
        "the 3.1.1 table and its checklist list different statements"
    );

    let v5 = check_rows(root, &section(&table, "MQTT 5.0"), true);
    let v5_checklist = checklist(&crate_dir.join("conformance/mqtt-5.0-client-statements.tsv"));
    assert_eq!(
        v5.len(),
        v5_checklist.len(),
        "the 5.0 table has {} rows, its checklist {} statements",
        v5.len(),
        v5_checklist.len()
    );
    assert_eq!(
        v5, v5_checklist,
        "the 5.0 table and its checklist list different statements"
    );
}

#[test]
fn citations_keep_the_versions_apart() {
    // A made-up id, so that these lines cite no real statement.
    assert!(cites("// [MQTT-0.0.0-1]", "MQTT-0.0.0-1", false));
    assert!(!cites("// [5.0 MQTT-0.0.0-1]", "MQTT-0.0.0-1", false));
    assert!(cites("// [5.0 MQTT-0.0.0-1]", "MQTT-0.0.0-1", true));
    assert!(!cites("// [MQTT-0.0.0-1]", "MQTT-0.0.0-1", true));
    assert!(!cites("// [5.0 MQTT-0.0.0-10]", "MQTT-0.0.0-1", true));
    assert!(!cites("// [15.0 MQTT-0.0.0-1]", "MQTT-0.0.0-1", true));
    assert!(cites(
        "[5.0 MQTT-0.0.0-1] and [MQTT-0.0.0-1]",
        "MQTT-0.0.0-1",
        false
    ));
}
