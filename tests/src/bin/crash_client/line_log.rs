//! An append-only log of lines that survives SIGKILL: each line goes to the
//! kernel in one `write` call before the caller goes on (no user-space
//! buffer to lose), and reading back keeps only whole lines.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

#[derive(Debug)]
pub(crate) struct LineLog {
    file: File,
}

impl LineLog {
    /// Opens `path` for appending, creating it, and returns the whole lines
    /// already in it. A line cut short by a kill is closed with a newline
    /// so that the next one starts on a line of its own.
    pub(crate) fn open(path: &Path) -> Result<(LineLog, Vec<String>), String> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        let lines = whole.lines().map(str::to_owned).collect();
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut log = LineLog { file };
        if !text.is_empty() && !text.ends_with('\n') {
            log.write("\n")?;
        }
        Ok((log, lines))
    }

    /// Appends `line` and a newline, in one write.
    pub(crate) fn line(&mut self, line: &str) -> Result<(), String> {
        self.write(&format!("{line}\n"))
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the log: {e}"))
    }
}
