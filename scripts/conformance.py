#!/usr/bin/env python3
"""Regenerates mqtt-proto/CONFORMANCE.md: for every client-side statement of
MQTT 3.1.1 and of MQTT 5.0 in the team's checklists, the tests that cite it.

Usage: scripts/conformance.py [v3.1.1.tsv [v5.0.tsv]]
(defaults: mqtt-proto/conformance/mqtt-3.1.1-client-statements.tsv and
mqtt-proto/conformance/mqtt-5.0-client-statements.tsv; columns id, section,
paraphrase). A developer tool, not part of the test command;
mqtt-proto/tests/conformance.rs checks both tables against the code on every
run.

Citation forms: a 3.1.1 statement is cited as `MQTT-x.y.z-n` (usually
`[MQTT-4.3.3-2]`); a 5.0 statement as `5.0 MQTT-x.y.z-n` (usually
`[5.0 MQTT-3.3.2-1]`), because the 5.0 ids have the same shape as the 3.1.1
ones but mean something else. A citation preceded by "5.0 " never counts for
3.1.1.
"""
import csv, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKLISTS = os.path.join(ROOT, "mqtt-proto", "conformance")
TSV_V311 = sys.argv[1] if len(sys.argv) > 1 else os.path.join(CHECKLISTS, "mqtt-3.1.1-client-statements.tsv")
TSV_V5 = sys.argv[2] if len(sys.argv) > 2 else os.path.join(CHECKLISTS, "mqtt-5.0-client-statements.tsv")
TEST_DIRS = ["mqtt-proto/tests", "mqtt-proto/src", "tests/tests", "tests/src"]

# Statements the sans-IO core cannot meet alone: they are about the transport.
ADAPTER = {
    "MQTT-6.0.0-1": "WebSocket transport (mqtt-client): binary frames only",
    "MQTT-6.0.0-3": "WebSocket transport (mqtt-client): offer the \"mqtt\" subprotocol",
    "MQTT-7.1.2-1": "the adapters provide TCP, an ordered lossless byte stream",
    "MQTT-7.0.0-2": "no extensions are used anywhere; nothing to test beyond interop with mosquitto",
}
SHARED = {
    "MQTT-3.14.4-1": "core emits Disconnected after DISCONNECT left; the adapter closes the socket",
    "MQTT-6.0.0-2": "codec: any split of the stream; the WebSocket transport joins frames into one stream",
}
# The same for the 5.0 checklist (same ids, 5.0 meaning).
ADAPTER_V5 = {
    "MQTT-4.2.0-1": "the adapters provide TCP, an ordered lossless byte stream (section 4.2)",
    "MQTT-6.0.0-1": "WebSocket transport (mqtt-client): binary frames only",
    "MQTT-6.0.0-3": "WebSocket transport (mqtt-client): offer the \"mqtt\" subprotocol",
}
# Statements whose situation the client never creates: nothing to test.
NOT_APPLICABLE_V5 = {
    "MQTT-4.3.3-9": "the client never sends a PUBREC with an error code (it takes every QoS 2 message it is sent), so no identifier is ever freed that way",
}
SHARED_V5 = {
    "MQTT-3.14.4-2": "core emits Disconnected after DISCONNECT left; the adapter closes the socket",
    "MQTT-6.0.0-2": "codec: any split of the stream; the WebSocket transport joins frames into one stream",
}

FN = re.compile(r"\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\w+)")


def citation(ident, v5):
    """The pattern of a citation of `ident`: `5.0 MQTT-...` for 5.0, and a
    bare `MQTT-...` not preceded by "5.0 " for 3.1.1."""
    if v5:
        return re.compile(r"\b5\.0 " + re.escape(ident) + r"\b")
    return re.compile(r"(?<!5\.0 )\b" + re.escape(ident) + r"\b")


def tests_citing(ident, v5=False):
    found = []
    pat = citation(ident, v5)
    for d in TEST_DIRS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if not f.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)
                lines = open(path, encoding="utf-8").read().splitlines()
                in_sim = rel.startswith("tests/src/")
                test_from = 0
                if rel.startswith("mqtt-proto/src") and not rel.endswith("/tests.rs"):
                    # Only the file's unit tests count, not its docs (a
                    # `tests.rs` file is all unit tests).
                    marks = [i for i, l in enumerate(lines) if "#[cfg(test)]" in l]
                    if not marks:
                        continue
                    test_from = marks[0]
                current = None
                for i, line in enumerate(lines):
                    m = FN.match(line)
                    if m:
                        current = m.group(1)
                    if i < test_from or not pat.search(line):
                        continue
                    owner = current
                    if line.strip().startswith("///"):
                        # A doc comment cites for the fn it documents.
                        owner = next((n.group(1) for n in map(FN.match, lines[i + 1:]) if n), current)
                    if not (line.strip().startswith("//") or "panic!" in line or "assert" in line
                            or "format!" in line or '"[MQTT' in line or '"[5.0 MQTT' in line):
                        continue
                    if in_sim:
                        name = f"{rel} (simulation invariant)"
                    else:
                        name = f"{rel}::{owner}" if owner else rel
                    if name not in found:
                        found.append(name)
    return found


def table(rows, adapter, shared, v5, not_applicable=None):
    """The table lines and the non-adapter statements no test cites."""
    out = ["| statement | owner | checked by |", "|---|---|---|"]
    missing = []
    not_applicable = not_applicable or {}
    for r in rows:
        ident = r["id"]
        tests = tests_citing(ident, v5)
        if ident in not_applicable:
            out.append(f"| {ident} | n/a | {not_applicable[ident]} |")
            continue
        if ident in adapter:
            owner, note = "adapter", adapter[ident]
        elif ident in shared:
            owner, note = "core + adapter", shared[ident]
        else:
            owner, note = "core", ""
        cell = "<br>".join(f"`{t}`" for t in tests)
        if note:
            cell = (cell + "<br>" if cell else "") + note
        if not tests and owner != "adapter" and (v5 or owner == "core"):
            missing.append(ident)
            cell = "**not yet tested**" + ("<br>" + note if note else "")
        out.append(f"| {ident} | {owner} | {cell} |")
    return out, missing


def read(tsv):
    return list(csv.DictReader(open(tsv, encoding="utf-8"), delimiter="\t"))


rows_v311, rows_v5 = read(TSV_V311), read(TSV_V5)
table_v311, missing_v311 = table(rows_v311, ADAPTER, SHARED, v5=False)
table_v5, missing_v5 = table(rows_v5, ADAPTER_V5, SHARED_V5, v5=True, not_applicable=NOT_APPLICABLE_V5)
checked_v5 = [r for r in rows_v5 if r["id"] not in ADAPTER_V5 and r["id"] not in NOT_APPLICABLE_V5]
covered_v5 = len(checked_v5) - len(missing_v5)

out = [
    "# MQTT client-side statements: where each is checked",
    "",
    "Generated by `scripts/conformance.py` from the team's checklists in",
    "`mqtt-proto/conformance/` (paraphrased there; ids as in the OASIS",
    "standards). `mqtt-proto/tests/conformance.rs` fails if a test named here no",
    "longer cites its statement.",
    "",
    "## MQTT 3.1.1",
    "",
    f"The {len(rows_v311)} client-side normative statements of MQTT 3.1.1",
    "(`mqtt-3.1.1-client-statements.tsv`). Tests cite them as `[MQTT-x.y.z-n]`;",
    "a citation written `5.0 MQTT-...` does not count here. Every core",
    "statement has a test.",
    "",
    *table_v311,
    "",
    "## MQTT 5.0",
    "",
    f"The {len(rows_v5)} client-side normative statements of MQTT 5.0",
    "(`mqtt-5.0-client-statements.tsv`). Tests cite them as",
    "`[5.0 MQTT-x.y.z-n]`: the 5.0 ids have the same shape as the 3.1.1 ones",
    "but a different meaning. A statement may still be listed as not yet",
    f"tested: {covered_v5} of the {len(checked_v5)} statements the core or the",
    "core and an adapter own are covered (statements marked n/a describe a",
    "situation the client never creates).",
    "",
    *table_v5,
    "",
]
open(os.path.join(ROOT, "mqtt-proto", "CONFORMANCE.md"), "w", encoding="utf-8").write("\n".join(out))
print(f"MQTT 3.1.1: {len(rows_v311)} statements, {len(missing_v311)} core statements without a test: {' '.join(missing_v311)}")
print(f"MQTT 5.0: {covered_v5}/{len(checked_v5)} statements covered "
      f"({len(rows_v5)} in the checklist, {len(ADAPTER_V5)} adapter-only, {len(NOT_APPLICABLE_V5)} n/a); "
      f"not yet tested: {' '.join(missing_v5)}")
