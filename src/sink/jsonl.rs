//! JSON Lines writer for records, dead letters and audit entries (a file or stdout).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Writes one JSON value per line.
pub struct JsonlWriter {
    out: Box<dyn Write + Send>,
    lines: u64,
}

impl JsonlWriter {
    /// `None` or `-` writes to stdout.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        let out: Box<dyn Write + Send> = match path {
            None => Box::new(BufWriter::new(io::stdout())),
            Some(p) if p.as_os_str() == "-" => Box::new(BufWriter::new(io::stdout())),
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating directory {}", dir.display()))?;
                }
                let f = File::create(p).with_context(|| format!("creating {}", p.display()))?;
                Box::new(BufWriter::new(f))
            }
        };
        Ok(JsonlWriter { out, lines: 0 })
    }

    pub fn write<T: Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, value).context("serialising a JSON line")?;
        self.out.write_all(b"\n").context("writing a JSON line")?;
        self.lines += 1;
        Ok(())
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.out.flush().context("flushing output")
    }
}
