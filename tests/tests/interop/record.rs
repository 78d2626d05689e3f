//! What a run of the matrix records, for the README's table: one file per
//! test, `<target>/tmp/interop/<broker>/<runtime>/<scenario>.txt`, holding
//! one line per broker choice the scenario observed (`aspect: outcome`)
//! and a final `passed` line when the scenario returned. `scripts/interop-table`
//! reads them back.

use mqtt_integration_tests::interop::Kind;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// The results directory of this build's test runs.
pub fn results_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop")
}

#[derive(Debug)]
struct Inner {
    kind: Kind,
    runtime: &'static str,
    scenario: &'static str,
    path: PathBuf,
}

/// One test's context: which broker and runtime it runs on, and its record.
#[derive(Debug, Clone)]
pub struct Ctx(Arc<Inner>);

impl Ctx {
    /// A fresh record for `scenario` on `kind` and `runtime` (any earlier
    /// run's record of the same test is removed).
    pub fn new(kind: Kind, runtime: &'static str, scenario: &'static str) -> Ctx {
        let dir = results_dir().join(kind.name()).join(runtime);
        if let Err(e) = fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let path = dir.join(format!("{scenario}.txt"));
        if let Err(e) = File::create(&path) {
            panic!("cannot create {}: {e}", path.display());
        }
        Ctx(Arc::new(Inner {
            kind,
            runtime,
            scenario,
            path,
        }))
    }

    /// The broker under test.
    pub fn kind(&self) -> Kind {
        self.0.kind
    }

    /// `<broker>::<runtime>::<scenario>`.
    pub fn name(&self) -> String {
        format!(
            "{}::{}::{}",
            self.0.kind.name(),
            self.0.runtime,
            self.0.scenario
        )
    }

    /// Records the broker's choice where the standard allows several, or a
    /// broker bug (then `outcome` starts with `broker bug [MQTT-…]`).
    /// `aspect` and `outcome` must not depend on timing, so that two runs
    /// record the same.
    pub fn note(&self, aspect: &str, outcome: &str) {
        eprintln!("{}: {aspect}: {outcome}", self.name());
        self.append(&format!("{aspect}: {outcome}\n"));
    }

    /// Marks the scenario as passed.
    pub(crate) fn passed(&self) {
        self.append("passed\n");
    }

    fn append(&self, line: &str) {
        let written = File::options()
            .append(true)
            .open(&self.0.path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot write {}: {e}", self.0.path.display());
        }
    }
}
