//! Keeps `CONFORMANCE.md` honest: every test it names must exist and still
//! cite the statement it is listed for, and no core statement may be
//! listed as untested. Regenerate the table with `scripts/conformance.py`.

use std::path::Path;

#[test]
fn conformance_table_matches_the_tests() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.parent().expect("workspace root");
    let table = std::fs::read_to_string(crate_dir.join("CONFORMANCE.md")).expect("CONFORMANCE.md");
    let mut rows = 0;
    for line in table.lines().filter(|l| l.starts_with("| MQTT-")) {
        rows += 1;
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (id, owner, checked) = (cells[1], cells[2], cells[3]);
        assert!(
            !checked.contains("not yet tested"),
            "{id} is listed as untested"
        );
        let mut named = 0;
        for entry in checked.split('`').skip(1).step_by(2) {
            named += 1;
            let (file, test) = match entry.split_once("::") {
                Some((file, test)) => (file, Some(test)),
                None => (entry.split(' ').next().unwrap_or(entry), None),
            };
            let source = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|e| panic!("{id}: {file} is gone: {e}"));
            assert!(source.contains(id), "{id}: {file} no longer cites it");
            if let Some(test) = test {
                assert!(
                    source.contains(&format!("fn {test}("))
                        || source.contains(&format!("fn {test}<")),
                    "{id}: {file} has no fn {test}"
                );
            }
        }
        assert!(
            named > 0 || owner == "adapter",
            "{id} ({owner}) names no test"
        );
    }
    assert_eq!(rows, 73, "the checklist has 73 client-side statements");
}
